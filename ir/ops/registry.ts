import { setTypeRules } from '../node.ts';
import type { Op } from '../op.ts';
import { binaryDefs, unaryDefs, whereDef } from './elementwise.ts';
import { gatherDef, onehotDef, scatterAddDef } from './indexing.ts';
import { argDef, constDef } from './leaf.ts';
import { matmulDef } from './linalg.ts';
import { logSoftmaxDef, softmaxCEDef } from './loss.ts';
import { broadcastDef, concatDef, padDef, reshapeDef, sliceDef, sumDef, transposeDef } from './movement.ts';
import { projDef, scanDef } from './scan.ts';
import type { OpDef } from './types.ts';

/** Every op's one definition. A Record over Op: a missing rule is a type error. */
export const opDefs: Record<Op, OpDef> = {
  ...unaryDefs,
  ...binaryDefs,
  where: whereDef,
  arg: argDef,
  const: constDef,
  matmul: matmulDef,
  broadcast: broadcastDef,
  reshape: reshapeDef,
  transpose: transposeDef,
  sum: sumDef,
  slice: sliceDef,
  pad: padDef,
  concat: concatDef,
  gather: gatherDef,
  scatter_add: scatterAddDef,
  onehot: onehotDef,
  log_softmax: logSoftmaxDef,
  softmax_ce: softmaxCEDef,
  scan: scanDef,
  proj: projDef,
};

// The node factory applies these type rules; it cannot import them (see setTypeRules).
setTypeRules(opDefs);
