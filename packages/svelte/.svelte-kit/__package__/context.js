/**
 * One shared model for a component tree: `setHearthContext` in a parent,
 * `getHearthContext` (or the classes' default) in any child.
 */
import { HearthError } from '@hearth/runner';
import { getContext, setContext } from 'svelte';
import { HearthModel } from './model.svelte.js';

const KEY = Symbol('hearth');
/**
 * Makes `model` the Hearth model of this component and its children and
 * returns it. Given a source (or nothing) it creates a {@link HearthModel}
 * (loading the source at once, or idle) that is disposed with the component.
 * Call it during component initialisation.
 */
export function setHearthContext(model, options) {
  const shared = model instanceof HearthModel ? model : new HearthModel(model, options);
  setContext(KEY, shared);
  return shared;
}
/**
 * The model set by `setHearthContext` in a parent component. Throws
 * `HearthError` `NO_HEARTH_CONTEXT` when there is none, or when called outside
 * component initialisation.
 */
export function getHearthContext() {
  let model;
  try {
    model = getContext(KEY);
  } catch (e) {
    throw new HearthError(
      'NO_HEARTH_CONTEXT',
      'getHearthContext() must be called while a component initialises (or pass `model` explicitly)',
      { cause: e },
    );
  }
  if (model === undefined) {
    throw new HearthError(
      'NO_HEARTH_CONTEXT',
      'no Hearth model in context: call setHearthContext() in a parent component, or pass `model`',
    );
  }
  return model;
}
