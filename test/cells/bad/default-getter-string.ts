// Bad: the default export's getter throws a string, not an Error (it used to print "internal error: undefined").
export default {
  get kind(): string {
    throw 'not telling';
  },
};
