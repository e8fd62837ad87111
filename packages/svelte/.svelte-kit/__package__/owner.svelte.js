/**
 * Ties a cleanup to the component (or `$effect.root`) being set up, so that
 * objects created in a component's `<script>` clean up when it is destroyed.
 */
/**
 * Runs `cleanup` when the current component or effect root is destroyed.
 * Returns `false` (and registers nothing) outside one, e.g. at a module's top
 * level: such objects live until their `destroy()`/`dispose()` is called.
 */
export function onOwnerDestroy(cleanup) {
  // Svelte has no public "is there an owner" query; an effect created without
  // one throws `effect_orphan`, and that is the answer.
  try {
    $effect(() => cleanup);
    return true;
  } catch {
    return false;
  }
}
