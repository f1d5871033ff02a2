/** A small Graphviz DOT writer: owns quoting and indentation, so callers never build DOT by hand. */

export type DotAttrs = Readonly<Record<string, string | number | boolean | undefined>>;

/** A DOT double-quoted string. `\n` in `s` becomes a centred line break; quotes and backslashes are escaped. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

function value(v: string | number | boolean): string {
  return typeof v === 'string' ? quote(v) : String(v);
}

/** `[k="v", ...]` in insertion order (so output is deterministic); undefined values are left out. */
export function attrList(attrs: DotAttrs): string {
  const parts = Object.entries(attrs)
    .filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
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
    this.line(header ? `${header} {` : "{");
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
  set(key: string, v: string | number | boolean): this {
    return this.line(`${key}=${value(v)};`);
  }

  node(id: string, attrs: DotAttrs = {}): this {
    return this.line(`${id}${attrList(attrs)};`);
  }

  edge(from: string, to: string, attrs: DotAttrs = {}): this {
    return this.line(`${from} -> ${to}${attrList(attrs)};`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
