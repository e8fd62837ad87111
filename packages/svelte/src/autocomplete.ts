/**
 * `use:llamaCompletion`: autocompletes a textarea (or text input) with the
 * model. When the user pauses typing with the caret at the end, the model
 * continues the text; the suggestion streams in as grey ghost text after the
 * caret. Tab accepts it, Escape (or typing, moving the caret, leaving the field)
 * dismisses it.
 */

import type { Action } from 'svelte/action';
import type { LlamaGenerateOptions } from './generation.svelte.js';
import type { HearthModel } from './model.svelte.js';

/** Parameters of {@link llamaCompletion}. */
export interface LlamaCompletionParams {
  /** The model that suggests (e.g. `getHearthContext()`). */
  model: HearthModel;
  /** Sampling of suggestions; default `{ temperature: 0, maxTokens: 12, stop: ['\n'] }`. */
  generateOptions?: LlamaGenerateOptions | undefined;
  /** Pause after the last keystroke before suggesting, in ms (default 300). */
  delay?: number | undefined;
  /** Shortest text (trimmed) that gets suggestions (default 3). */
  minLength?: number | undefined;
  /** Off while `false` (default on). */
  enabled?: boolean | undefined;
  /** The suggestion so far, after each streamed piece; `''` when it is dismissed or accepted. */
  onSuggestion?: ((suggestion: string) => void) | undefined;
  /** The suggestion was accepted with Tab (the field's value already includes it). */
  onAccept?: ((suggestion: string) => void) | undefined;
  /** A suggestion failed (e.g. the model failed to load); the field keeps working. */
  onError?: ((error: Error) => void) | undefined;
}

type TextField = HTMLTextAreaElement | HTMLInputElement;

const DEFAULTS: LlamaGenerateOptions = { temperature: 0, maxTokens: 12, stop: ['\n'] };

/** Styles the ghost layer copies so its text lies exactly over the field's. */
const MIRRORED = [
  'fontFamily',
  'fontSize',
  'fontStyle',
  'fontWeight',
  'letterSpacing',
  'lineHeight',
  'textTransform',
  'textIndent',
  'textAlign',
  'wordSpacing',
  'tabSize',
  'paddingTop',
  'paddingRight',
  'paddingBottom',
  'paddingLeft',
  'borderTopWidth',
  'borderRightWidth',
  'borderBottomWidth',
  'borderLeftWidth',
] as const;

/**
 * The autocomplete action. The field's value includes an accepted suggestion
 * and an `input` event is dispatched, so `bind:value` follows. While a
 * suggestion shows, the field has `data-suggestion` set to it (for styling and tests).
 */
export const llamaCompletion: Action<TextField, LlamaCompletionParams> = (node, initial) => {
  let params = initial;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let abort: AbortController | undefined;
  let suggestion = '';
  let ghost: HTMLDivElement | undefined;

  function show(text: string): void {
    suggestion = text;
    if (text === '') {
      delete node.dataset.suggestion;
      ghost?.remove();
      ghost = undefined;
    } else {
      node.dataset.suggestion = text;
      render();
    }
    params.onSuggestion?.(text);
  }

  /** Lays a transparent copy of the field's text, then the suggestion, over the field. */
  function render(): void {
    ghost ??= document.createElement('div');
    const style = getComputedStyle(node);
    for (const name of MIRRORED) ghost.style[name] = style[name];
    Object.assign(ghost.style, {
      position: 'absolute',
      // Sized from the field's border box (getBoundingClientRect), whatever its own box-sizing.
      boxSizing: 'border-box',
      top: `${node.offsetTop}px`,
      left: `${node.offsetLeft}px`,
      width: `${node.getBoundingClientRect().width}px`,
      height: `${node.getBoundingClientRect().height}px`,
      borderStyle: 'solid',
      borderColor: 'transparent',
      color: 'transparent',
      background: 'transparent',
      overflow: 'hidden',
      pointerEvents: 'none',
      whiteSpace: node instanceof HTMLTextAreaElement ? 'pre-wrap' : 'pre',
      overflowWrap: 'break-word',
    });
    ghost.setAttribute('aria-hidden', 'true');
    ghost.dataset.hearthGhost = '';
    const typed = document.createElement('span');
    typed.textContent = node.value;
    const rest = document.createElement('span');
    rest.textContent = suggestion;
    rest.style.color = style.color;
    rest.style.opacity = '0.45';
    ghost.replaceChildren(typed, rest);
    if (!ghost.isConnected) node.after(ghost);
    // offsetTop/Left are whole pixels: move by what is left to lie exactly over the field.
    const field = node.getBoundingClientRect();
    const layer = ghost.getBoundingClientRect();
    ghost.style.top = `${node.offsetTop + field.top - layer.top}px`;
    ghost.style.left = `${node.offsetLeft + field.left - layer.left}px`;
    ghost.scrollTop = node.scrollTop;
    ghost.scrollLeft = node.scrollLeft;
  }

  /** Drops the pending or streaming suggestion. */
  function dismiss(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    abort?.abort();
    abort = undefined;
    if (suggestion !== '' || ghost) show('');
  }

  async function suggest(): Promise<void> {
    timer = undefined;
    const prompt = node.value;
    const mine = new AbortController();
    abort = mine;
    try {
      const runner = await params.model.ready();
      if (mine.signal.aborted) return;
      const generation = runner.generateText(prompt, {
        ...DEFAULTS,
        ...params.generateOptions,
        signal: mine.signal,
      });
      let text = '';
      for await (const chunk of generation) {
        if (mine.signal.aborted) return;
        text += chunk.text;
        // Leading spaces are kept (they separate words); a suggestion of only whitespace is not shown.
        if (text.trim() !== '') show(text);
      }
      await generation.result;
    } catch (e) {
      if (!mine.signal.aborted) params.onError?.(e instanceof Error ? e : new Error(String(e)));
    } finally {
      if (abort === mine) abort = undefined;
    }
  }

  function schedule(): void {
    dismiss();
    if (params.enabled === false) return;
    const atEnd =
      node.selectionStart === node.value.length && node.selectionEnd === node.value.length;
    if (!atEnd || node.value.trim().length < (params.minLength ?? 3)) return;
    timer = setTimeout(() => void suggest(), params.delay ?? 300);
  }

  function accept(): void {
    const text = suggestion;
    dismiss();
    node.value += text;
    node.setSelectionRange(node.value.length, node.value.length);
    // `bind:value` and other listeners see the new value; this also schedules the next suggestion.
    node.dispatchEvent(new Event('input', { bubbles: true }));
    params.onAccept?.(text);
  }

  function onKeydown(event: KeyboardEvent): void {
    if (suggestion === '') {
      if (event.key !== 'Shift') dismiss();
      return;
    }
    if (
      event.key === 'Tab' &&
      !event.shiftKey &&
      !event.altKey &&
      !event.ctrlKey &&
      !event.metaKey
    ) {
      event.preventDefault();
      accept();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      dismiss();
    } else if (event.key !== 'Shift') {
      dismiss();
    }
  }

  const onScroll = () => {
    if (ghost) ghost.scrollTop = node.scrollTop;
  };

  // One element type, so the listener overloads resolve (a union of two has none in common).
  const field: HTMLElement = node;
  field.addEventListener('input', schedule);
  field.addEventListener('keydown', onKeydown);
  field.addEventListener('blur', dismiss);
  field.addEventListener('pointerdown', dismiss);
  field.addEventListener('scroll', onScroll);

  return {
    update(next: LlamaCompletionParams) {
      if (next.model !== params.model || next.enabled === false) dismiss();
      params = next;
    },
    destroy() {
      dismiss();
      field.removeEventListener('input', schedule);
      field.removeEventListener('keydown', onKeydown);
      field.removeEventListener('blur', dismiss);
      field.removeEventListener('pointerdown', dismiss);
      field.removeEventListener('scroll', onScroll);
    },
  };
};
