// Bad: looks like a cell(...) definition from outside but is not one (it used to crash rnnc ir).
export default { kind: 'rnnc-cell' };
