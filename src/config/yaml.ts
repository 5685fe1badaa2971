// Parsing of the config file's text (YAML 1.2, a superset of JSON) with errors that point at the
// line where the problem starts. The parser reports an unclosed `[`, `{` or quote where it gives
// up, often the next key or the end of the file; the opening is what the operator must fix.
import { CST, LineCounter, Parser, parse, YAMLError } from 'yaml';

/** Parses the text, or returns the problem: the parser's first message line with a corrected position. */
export function parseYamlText(text: string): { document: unknown } | { problem: string } {
  try {
    return { document: parse(text, { uniqueKeys: true }) as unknown };
  } catch (error) {
    // Only the first line: the parser's message goes on to quote the offending source line, and that
    // line may hold a password (DESIGN.md invariant 7). The first line has the line and column.
    const [first = 'parse error'] = (error as Error).message.split('\n');
    if (!(error instanceof YAMLError)) return { problem: first };
    const opening = unclosedBefore(text, error.pos[0]);
    if (opening === undefined) return { problem: first.replace(/:$/, '') };
    const message = first.replace(/ at line \d+, column \d+:?$/, '');
    const noticed = error.linePos?.[0].line;
    return {
      problem: `${message} at line ${opening.line}, column ${opening.col} (where it opens; noticed at line ${noticed ?? '?'})`,
    };
  }
}

/** The last flow collection or quoted scalar that opens before `offset` and is never closed. */
function unclosedBefore(text: string, offset: number): { line: number; col: number } | undefined {
  const lines = new LineCounter();
  let found: number | undefined;
  const consider = (token: CST.Token | null | undefined) => {
    if (token === null || token === undefined || token.offset > offset) return;
    const open =
      (token.type === 'flow-collection' &&
        !token.end.some((t) => t.type === 'flow-seq-end' || t.type === 'flow-map-end')) ||
      ((token.type === 'double-quoted-scalar' || token.type === 'single-quoted-scalar') &&
        (token.source.length < 2 || !token.source.endsWith(token.source[0] as string)));
    if (open && (found === undefined || token.offset > found)) found = token.offset;
  };
  for (const token of new Parser(lines.addNewLine).parse(text)) {
    if (token.type !== 'document') continue;
    consider(token.value);
    CST.visit(token, (item) => {
      consider(item.key);
      consider(item.value);
    });
  }
  return found === undefined ? undefined : lines.linePos(found);
}
