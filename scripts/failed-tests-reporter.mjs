// A second test reporter beside TAP: it repeats every failed test at the very end of the run,
// with its file and error, so a CI log that keeps only its tail still says what failed.
const MAX_LINES = 25;

function describe(error) {
  const cause = error?.cause ?? error;
  const text = cause?.stack ?? cause?.message ?? String(cause);
  return String(text).split('\n').slice(0, MAX_LINES).map((l) => `    ${l}`).join('\n');
}

export default async function* failedTests(source) {
  const failed = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, file, details } = event.data;
    // A suite fails when one of its tests does: the test itself is already listed.
    if (details?.type === 'suite' || details?.error?.failureType === 'subtestsFailed') continue;
    failed.push({ name, file, error: details?.error });
  }
  if (failed.length === 0) return;
  yield `\n# ${failed.length} failed test(s):\n`;
  for (const f of failed) yield `# FAILED ${f.file ?? '?'} › ${f.name}\n${describe(f.error)}\n`;
}
