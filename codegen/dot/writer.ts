/** A small Graphviz DOT writer: owns quoting and indentation, so callers never build DOT by hand. */

export type DotAttrs = Readonly<Record<string, string | number | boolean | undefined>>;

/** A DOT double-quoted string. `\n` in `s` becomes a centred line break; quotes and backslashes are escaped. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

/** Text for an HTML-like label (`<...>`): the five XML specials escaped. */
export function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** An HTML-like label value: written unquoted as `<...>`. */
export class HtmlLabel {
  constructor(readonly markup: string) {}
}

function value(v: string | number | boolean | HtmlLabel): string {
  if (v instanceof HtmlLabel) return `<${v.markup}>`;
  return typeof v === 'string' ? quote(v) : String(v);
}

/** `[k="v", ...]` in insertion order (so output is deterministic); undefined values are left out. */
export function attrList(attrs: DotAttrs | Readonly<Record<string, HtmlLabel | string | number | boolean | undefined>>): string {
  const parts = Object.entries(attrs)
    .filter((e): e is [string, string | number | boolean | HtmlLabel] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

export class DotWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text: string): this {
    this.lines.push(`${'  '.repeat(this.depth)}${text}`);
    return this;
  }

  /** `header {`, the body indented, `}`. */
  block(header: string, body: () => void): this {
    this.line(`${header} {`);
    this.depth++;
    try {
      body();
    } finally {
      this.depth--;
    }
    return this.line('}');
  }

  /** Default attributes: `graph [...]`, `node [...]` or `edge [...]`. */
  defaults(kind: 'graph' | 'node' | 'edge', attrs: DotAttrs): this {
    return this.line(`${kind}${attrList(attrs)};`);
  }

  /** A statement `k="v";` inside a graph or cluster. */
  set(key: string, v: string | number | boolean | HtmlLabel): this {
    return this.line(`${key}=${value(v)};`);
  }

  node(id: string, attrs: Readonly<Record<string, HtmlLabel | string | number | boolean | undefined>> = {}): this {
    return this.line(`${id}${attrList(attrs)};`);
  }

  edge(from: string, to: string, attrs: DotAttrs = {}): this {
    return this.line(`${from} -> ${to}${attrList(attrs)};`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
