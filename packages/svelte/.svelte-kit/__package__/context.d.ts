/**
 * One shared model for a component tree: `setHearthContext` in a parent,
 * `getHearthContext` (or the classes' default) in any child.
 */
import { type ModelSourceInput } from '@hearth/runner';
import { HearthModel, type ModelLoadOptions } from './model.svelte.js';
/**
 * Makes `model` the Hearth model of this component and its children and
 * returns it. Given a source (or nothing) it creates a {@link HearthModel}
 * (loading the source at once, or idle) that is disposed with the component.
 * Call it during component initialisation.
 */
export declare function setHearthContext(
  model?: HearthModel | ModelSourceInput,
  options?: ModelLoadOptions,
): HearthModel;
/**
 * The model set by `setHearthContext` in a parent component. Throws
 * `HearthError` `NO_HEARTH_CONTEXT` when there is none, or when called outside
 * component initialisation.
 */
export declare function getHearthContext(): HearthModel;
//# sourceMappingURL=context.d.ts.map
