/** Public surface of policy-as-code: load once at startup, evaluate per request. */
export { evaluatePolicy, expiryFor, gateCaller } from './evaluate.js';
export { loadPolicy, parsePolicy } from './loader.js';
export { formatProblem, PolicyError } from './policy-error.js';
export type { PolicyProblem } from './policy-error.js';
export type { Policy, PolicyEvaluation, PolicyInput } from './types.js';
