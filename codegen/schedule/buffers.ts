/** The buffers of a schedule as it is built: declared in order of creation, named by what made them. */
import type { DType } from '../../ir/node.ts';
import type { BufferDecl, View } from './types.ts';

/** Buffers of the whole schedule, named in order of creation. */
export class Buffers {
  readonly list: BufferDecl[] = [];
  private readonly consts = new Map<string, string>();
  declare(decl: BufferDecl): void {
    this.list.push(decl);
  }
  scratch(size: number, dtype: DType, hint: string): View {
    const name = `${hint.replace(/\W/g, '_')}${this.list.length}`;
    this.list.push({ name, kind: 'scratch', dtype, size });
    return { buf: name, off: { c: 0, terms: [] } };
  }
  constant(value: number, size: number, dtype: DType): View {
    const key = `${value}:${size}:${dtype}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const${this.list.length}`;
      this.list.push({ name, kind: 'const', dtype, size, value });
      this.consts.set(key, name);
    }
    return { buf: name, off: { c: 0, terms: [] } };
  }
}
