/**
 * The package's main: registers the functions with the functions-framework, on a runtime built
 * from process.env at the first event (so a bad setting fails that event, as it always has, not the
 * instance's start). A deployed function (FUNCTION_TARGET set) registers only its own; locally all
 * three are. Their use-cases, configs and clients load on the first event.
 */
import { createFunctionRuntime, type FunctionRuntime } from '../shared/pipeline/function-runtime';
import { registerFunctions } from './register';

let runtime: FunctionRuntime | undefined;
registerFunctions(
  () => (runtime ??= createFunctionRuntime({ env: process.env })),
  process.env.FUNCTION_TARGET || undefined,
);
