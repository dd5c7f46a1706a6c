// A node:test reporter for scripts/reliability.js: one JSON object per line for each test result,
// diagnostic and line a test file printed, with the file it came from. Machine-readable, so the
// figures table is computed from what the runner reported rather than parsed from the spec output.
export default async function* reliabilityReporter(source) {
  for await (const { type, data } of source) {
    if (type === 'test:pass' || type === 'test:fail') {
      const error = type === 'test:fail' ? data.details?.error : undefined;
      yield `${JSON.stringify({
        type: type.slice(5),
        file: data.file,
        name: data.name,
        nesting: data.nesting,
        suite: data.details?.type === 'suite',
        skip: data.skip !== undefined && data.skip !== false,
        todo: data.todo !== undefined && data.todo !== false,
        ms: data.details?.duration_ms,
        ...(error ? { error: String(error.cause?.message ?? error.message ?? error).slice(0, 2000) } : {}),
      })}\n`;
    } else if (type === 'test:diagnostic' || type === 'test:stdout' || type === 'test:stderr') {
      yield `${JSON.stringify({ type: type.slice(5), file: data.file, nesting: data.nesting, message: data.message })}\n`;
    }
  }
}
