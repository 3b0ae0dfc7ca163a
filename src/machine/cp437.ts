/**
 * Code page 437, the character set of the VGA's text-mode font, as Unicode: how a screen cell's
 * character byte looks. Byte 0 and 0xff (both blank glyphs) map to a space so text stays plain.
 */
const CP437 =
  " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼" +
  " !\"#$%&'()*+,-./0123456789:;<=>?" +
  "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_" +
  "`abcdefghijklmnopqrstuvwxyz{|}~⌂" +
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒ" +
  "áíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐" +
  "└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
  "αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ";

/** The Unicode character for each of the 256 CP437 bytes. */
export const CP437_TO_UNICODE: readonly string[] = Array.from(CP437);

if (CP437_TO_UNICODE.length !== 256) throw new Error(`CP437 table has ${CP437_TO_UNICODE.length} entries`);
