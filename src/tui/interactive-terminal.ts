/**
 * Ink decides once, when its module is first evaluated, whether it runs "in CI" (the CI or
 * CONTINUOUS_INTEGRATION environment variable is set); there it draws nothing until the app exits.
 * `ttd tui` on a real terminal is interactive wherever it runs, so when stdout is a terminal those
 * variables are removed from this process before ink loads. Import this module before ink.
 */
if (process.stdout.isTTY) {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
}

export {};
