/**
 * The Ink screen: renders a DebuggerViewModel's `view` and forwards keys to it. Nothing here asks the
 * trace anything; layout only (what fits in the terminal's rows and columns).
 */
import { useEffect, useState } from "react";
import { Box, Text, useApp, useInput, useStdout } from "ink";
import { hex } from "../query/context.js";
import { HELP, fmt, type DebuggerViewModel, type FpuView, type OutputView, type RegisterView, type ScreenView, type View } from "./view-model.js";
import { MIN_COLUMNS, MIN_ROWS, fitStatus, inputTail, shortenPath, wrapWords } from "./fit-text.js";
import { sourcePlace } from "../query/render.js";

/** Width of the right-hand column (registers and stack): wider where there is room for stack names. */
const rightWidth = (columns: number) => (columns >= 110 ? 52 : columns >= 100 ? 46 : 40);

export interface AppProps {
  vm: DebuggerViewModel;
  /** Terminal size when stdout does not report one (tests). */
  columns?: number;
  rows?: number;
}

function useTerminalSize(columns?: number, rows?: number): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: columns ?? stdout.columns ?? 80, rows: rows ?? stdout.rows ?? 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

export function App({ vm, columns, rows }: AppProps) {
  const { exit } = useApp();
  const [, setTick] = useState(0);
  const size = useTerminalSize(columns, rows);
  // A running search reports progress and its end on its own, between keys: redraw then too.
  useEffect(() => {
    vm.onChange(() => setTick((t) => t + 1));
    return () => {
      vm.onChange(null);
      vm.dispose();
    };
  }, [vm]);
  useInput((input, key) => {
    if (vm.key(input, key) === "quit") {
      exit();
      return;
    }
    setTick((t) => t + 1);
  });
  return <Screen view={vm.view} columns={size.columns} rows={size.rows} />;
}

export function Screen({ view, columns, rows }: { view: View; columns: number; rows: number }) {
  // Panels squeezed below their minimum overlap and wrap into garbage: say so plainly instead. The
  // size is read again on every resize, so enlarging the terminal brings the screen back.
  if (columns < MIN_COLUMNS || rows < MIN_ROWS) return <TooSmall columns={columns} rows={rows} />;
  const body = rows - 4;
  const right = rightWidth(columns);
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <StatusLine view={view} width={columns} />
      <MessageLine view={view} width={columns} />
      <Box height={body} flexDirection="row">
        {view.mode === "help" ? (
          <HelpPanel height={body} />
        ) : view.mode === "bookmarks" && view.bookmarkList !== null ? (
          <BookmarkPanel list={view.bookmarkList} height={body} />
        ) : view.mode === "answer" && view.answer !== null ? (
          <AnswerPanel answer={view.answer} width={columns} height={body} />
        ) : view.screen !== null ? (
          <ScreenPanel screen={view.screen} step={view.step} height={body} />
        ) : view.fpu !== null ? (
          <FpuPanel fpu={view.fpu} step={view.step} height={body} />
        ) : view.output !== null ? (
          <OutputPanel output={view.output} step={view.step} height={body} />
        ) : (
          <>
            <Box flexDirection="column" width={columns - right} marginRight={1}>
              <DisasmPanel view={view} height={Math.floor(body / 2)} />
              <SourcePanel view={view} height={body - Math.floor(body / 2)} />
            </Box>
            <Box flexDirection="column" width={right - 1}>
              <RegisterPanel view={view} />
              {localsHeight(view) > 0 && <LocalsPanel view={view} height={localsHeight(view)} />}
              <StackPanel view={view} height={body - 7 - localsHeight(view)} width={right - 1} />
            </Box>
          </>
        )}
      </Box>
      <Timeline view={view} width={columns} />
      <Text dimColor wrap="truncate">
        n p o O l L step  g go  i I irq  b W c r stop  w why  m M ' mark  ? help  q quit
      </Text>
    </Box>
  );
}

function TooSmall({ columns, rows }: { columns: number; rows: number }) {
  return (
    <Box flexDirection="column" width={columns}>
      <Text wrap="wrap">{`Terminal too small: ${columns}x${rows}.`}</Text>
      <Text wrap="wrap">{`ttd tui needs at least ${MIN_COLUMNS}x${MIN_ROWS}.`}</Text>
      <Text wrap="wrap">Enlarge it, or press q to quit.</Text>
    </Box>
  );
}

function StatusLine({ view, width }: { view: View; width: number }) {
  const where = sourcePlace(view.location);
  // Most telling first, so a narrow terminal cuts the least: the position, a running search, what the
  // step is (a fault, an interrupt), then the code's symbol and source line.
  const parts = [
    { text: `step ${fmt(view.step)} / ${fmt(view.last)}` },
    ...(view.busy !== null ? [{ text: `${view.busy.label}...` }] : []),
    ...(view.stepKind !== null ? [{ text: view.stepKind }] : []),
    { text: view.location.symbol ?? "(no symbol)" },
    { text: where, path: true },
  ];
  return (
    <Text inverse bold wrap="truncate">
      {fitStatus(parts, width)}
    </Text>
  );
}

const PROMPTS: Partial<Record<View["mode"], string>> = {
  goto: "go to step: ",
  why: "why-write (expression or address [@ step]): ",
  break: "breakpoint (function, file:line or address): ",
  watch: "watch (expression or address): ",
  bookmark: "bookmark name: ",
};

function MessageLine({ view, width }: { view: View; width: number }) {
  const prompt = PROMPTS[view.mode];
  if (prompt !== undefined) {
    // The input scrolls so its end, where typing happens, stays beside the cursor.
    return (
      <Text wrap="truncate">
        <Text color="yellow">{prompt}</Text>
        {inputTail(view.input, width - prompt.length - 1)}
        <Text inverse> </Text>
      </Text>
    );
  }
  if (view.busy !== null) {
    return (
      <Text color="yellow" wrap="truncate">
        {view.busy.progress}
      </Text>
    );
  }
  return <Text wrap="truncate">{view.message}</Text>;
}

function Header({ title }: { title: string }) {
  return (
    <Text bold color="cyan" wrap="truncate">
      {title}
    </Text>
  );
}

function DisasmPanel({ view, height }: { view: View; height: number }) {
  const lines = view.disasm;
  const cur = Math.max(0, lines.findIndex((l) => l.current));
  const room = Math.max(1, height - 1);
  const from = Math.max(0, Math.min(cur - Math.floor((room - 1) / 3), lines.length - room));
  return (
    <Box flexDirection="column" height={height}>
      <Header title="Disassembly" />
      {lines.slice(from, from + room).map((l) => (
        <Text key={l.address} inverse={l.current} wrap="truncate">
          {`${l.current ? ">" : " "} ${hex(l.address).padEnd(10)} ${l.text}`}
        </Text>
      ))}
    </Box>
  );
}

function SourcePanel({ view, height }: { view: View; height: number }) {
  const s = view.source;
  const room = Math.max(1, height - 1);
  const cur = Math.max(0, s.lines.findIndex((l) => l.current));
  const from = Math.max(0, Math.min(cur - Math.floor(room / 2), s.lines.length - room));
  return (
    <Box flexDirection="column" height={height}>
      <Header title={s.file !== null ? `Source ${s.file}:${s.line}` : "Source"} />
      {s.missing !== null ? (
        <Text dimColor wrap="truncate">
          {s.missing}
        </Text>
      ) : (
        s.lines.slice(from, from + room).map((l) => (
          <Text key={l.number} inverse={l.current} wrap="truncate">
            {`${String(l.number).padStart(5)} ${l.text}`}
          </Text>
        ))
      )}
    </Box>
  );
}

function Reg({ r }: { r: RegisterView }) {
  const value = r.name === "cpl" ? String(r.value) : r.name.length === 2 && r.name !== "cr" ? hex(r.value).padEnd(10) : `0x${(r.value >>> 0).toString(16).padStart(8, "0")}`;
  return (
    <Text color={r.changed ? "yellow" : undefined} bold={r.changed} wrap="truncate">
      {`${r.changed ? "*" : " "}${r.name.padEnd(6)} ${value}`}
    </Text>
  );
}

function RegisterPanel({ view }: { view: View }) {
  const list = view.showSystem ? view.system : view.registers;
  // Two columns of registers keep the panel at 5-6 lines.
  const half = Math.ceil(list.length / 2);
  return (
    <Box flexDirection="column" height={7}>
      <Header title={view.showSystem ? "Segment / control registers (s)" : "Registers (* changed by the last step)"} />
      <Box flexDirection="row">
        <Box flexDirection="column" width={19}>
          {list.slice(0, half).map((r) => (
            <Reg key={r.name} r={r} />
          ))}
        </Box>
        <Box flexDirection="column" width={19}>
          {list.slice(half).map((r) => (
            <Reg key={r.name} r={r} />
          ))}
        </Box>
      </Box>
    </Box>
  );
}

/** Lines the locals panel takes: a header and up to four variables; none without locals. */
function localsHeight(view: View): number {
  return view.locals.length === 0 ? 0 : 1 + Math.min(4, view.locals.length);
}

function LocalsPanel({ view, height }: { view: View; height: number }) {
  return (
    <Box flexDirection="column" height={height}>
      <Header title="Locals (of the code at EIP)" />
      {view.locals.slice(0, height - 1).map((l) => (
        <Text key={l.name} wrap="truncate">
          {`${l.name} = ${l.text}`}
        </Text>
      ))}
    </Box>
  );
}

function StackPanel({ view, height, width }: { view: View; height: number; width: number }) {
  const room = Math.max(1, height - 1);
  return (
    <Box flexDirection="column" height={height}>
      <Header title={view.stackSelection !== null ? "Stack (w: who wrote the selected word)" : "Stack (words at ESP; Up/Down selects)"} />
      {view.stack.slice(0, room).map((w, i) => (
        <Text key={w.address} inverse={i === view.stackSelection} wrap="truncate">
          {`${(w.address >>> 0).toString(16).padStart(8, "0")} ${w.value === null ? "????????" : (w.value >>> 0).toString(16).padStart(8, "0")} ${shortenPath(w.points ?? w.name ?? "", width - 18)}`}
        </Text>
      ))}
    </Box>
  );
}

function Timeline({ view, width }: { view: View; width: number }) {
  const t = view.timeline;
  const cells = t.cells.split("");
  const label = ` ${fmt(t.count)}${t.capped ? "+" : ""} events`;
  const room = Math.max(8, width - label.length - 2);
  // Stretch or squeeze the model's cells to the terminal width.
  const scaled: string[] = [];
  for (let i = 0; i < room; i++) scaled.push(cells[Math.floor((i * cells.length) / room)]);
  const cur = Math.min(room - 1, Math.floor((t.cursor * room) / cells.length));
  return (
    <Text wrap="truncate">
      {"["}
      {scaled.slice(0, cur).join("")}
      <Text inverse color="green">
        {scaled[cur] === "." ? "|" : scaled[cur]}
      </Text>
      {scaled.slice(cur + 1).join("")}
      {"]"}
      <Text dimColor>{label}</Text>
    </Text>
  );
}

/** The guest's text screen at the current step; the cursor cell is drawn inverse. */
function ScreenPanel({ screen, step, height }: { screen: ScreenView; step: number; height: number }) {
  const room = Math.max(1, height - 1);
  const c = screen.cursor;
  const where = c === null ? "cursor hidden" : `cursor row ${c.row + 1}, column ${c.column + 1}`;
  return (
    <Box flexDirection="column" height={height}>
      <Header title={`VGA screen at step ${fmt(step)} (${where})   v: close`} />
      {screen.lines.slice(0, room).map((l, row) =>
        c !== null && c.row === row ? (
          <Text key={row} wrap="truncate">
            {l.slice(0, c.column)}
            <Text inverse>{l[c.column]}</Text>
            {l.slice(c.column + 1)}
          </Text>
        ) : (
          <Text key={row} wrap="truncate">
            {l}
          </Text>
        ),
      )}
    </Box>
  );
}

/**
 * The x87 and SSE registers at the current step, in one column that fits 80x24: ST0-ST7 with value
 * and raw bits, the control registers two lines, XMM0-XMM7; registers the last step changed are marked.
 */
function FpuPanel({ fpu, step, height }: { fpu: FpuView; step: number; height: number }) {
  type Row = FpuView["registers"][number];
  const mark = (r: Row, text: string) => (
    <Text key={r.name} color={r.changed ? "yellow" : undefined} bold={r.changed}>
      {`${r.changed ? "*" : " "}${text}`}
    </Text>
  );
  const by = (prefix: string) => fpu.registers.filter((r) => r.name.startsWith(prefix));
  const control = fpu.registers.filter((r) => !r.name.startsWith("st") && !r.name.startsWith("xmm"));
  const rows = [
    ...by("st").map((r) => <Text key={r.name} wrap="truncate">{mark(r, `${r.name.padEnd(5)} ${r.value.padEnd(27)} ${r.raw}`)}</Text>),
    <Text key="control1" wrap="truncate">{control.slice(0, 4).map((r) => mark(r, `${r.name} ${r.raw}  `))}</Text>,
    <Text key="control2" wrap="truncate">{control.slice(4).map((r) => mark(r, `${r.name} ${r.raw}  `))}</Text>,
    ...by("xmm").map((r) => <Text key={r.name} wrap="truncate">{mark(r, `${r.name.padEnd(5)} ${r.raw}`)}</Text>),
  ];
  return (
    <Box flexDirection="column" height={height}>
      <Header title={`x87 / SSE registers at step ${fmt(step)} (* changed by the last step)   f: close`} />
      {rows.slice(0, Math.max(1, height - 1))}
    </Box>
  );
}

/** The guest's output as it stood when the current step began: its last lines, the latest at the bottom. */
function OutputPanel({ output, step, height }: { output: OutputView; step: number; height: number }) {
  const room = Math.max(1, height - 1);
  return (
    <Box flexDirection="column" height={height}>
      <Header title={`Output before step ${fmt(step)} (${fmt(output.printed)} of ${fmt(output.total)} bytes)   t: close`} />
      {output.lines.slice(-room).map((l, i) => (
        <Text key={i} wrap="truncate">
          {l === "" ? " " : l}
        </Text>
      ))}
    </Box>
  );
}

function HelpPanel({ height }: { height: number }) {
  return (
    <Box flexDirection="column" height={height}>
      <Header title="Keys (Esc or ? closes)" />
      {HELP.map(([k, what]) => (
        <Text key={k} wrap="truncate">
          {`  ${k.padEnd(14)} ${what}`}
        </Text>
      ))}
    </Box>
  );
}

function BookmarkPanel({ list, height }: { list: NonNullable<View["bookmarkList"]>; height: number }) {
  const room = Math.max(1, height - 1);
  // Keep the highlighted bookmark in view in long lists.
  const from = Math.max(0, Math.min(list.selected - Math.floor(room / 2), list.items.length - room));
  return (
    <Box flexDirection="column" height={height}>
      <Header title="Bookmarks   Up/Down: select   Enter: jump   Esc: close" />
      {list.items.slice(from, from + room).map((b, i) => (
        <Text key={b.name} inverse={from + i === list.selected} wrap="truncate">
          {`${from + i === list.selected ? ">" : " "} ${fmt(b.step).padStart(14)}  ${b.name}`}
        </Text>
      ))}
    </Box>
  );
}

function AnswerPanel({ answer, width, height }: { answer: NonNullable<View["answer"]>; width: number; height: number }) {
  const room = Math.max(1, height - 1);
  // Long answer lines are folded at word boundaries (not cut) so the whole explanation can be read.
  const rows: string[] = [];
  for (const l of answer.lines.slice(answer.scroll)) {
    rows.push(...wrapWords(l, width));
    if (rows.length >= room) break;
  }
  return (
    <Box flexDirection="column" height={height}>
      <Header title={`why-write   ${answer.jumpTo !== null ? `j: jump to step ${fmt(answer.jumpTo)}   ` : ""}Up/Down: scroll   Esc: close`} />
      {rows.slice(0, room).map((l, i) => (
        <Text key={i} wrap="truncate">
          {l === "" ? " " : l}
        </Text>
      ))}
    </Box>
  );
}
