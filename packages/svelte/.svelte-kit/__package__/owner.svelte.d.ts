/**
 * Ties a cleanup to the component (or `$effect.root`) being set up, so that
 * objects created in a component's `<script>` clean up when it is destroyed.
 */
/**
 * Runs `cleanup` when the current component or effect root is destroyed.
 * Returns `false` (and registers nothing) outside one, e.g. at a module's top
 * level: such objects live until their `destroy()`/`dispose()` is called.
 */
export declare function onOwnerDestroy(cleanup: () => void): boolean;
//# sourceMappingURL=owner.svelte.d.ts.map
