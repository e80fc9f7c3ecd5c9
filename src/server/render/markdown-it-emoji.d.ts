// markdown-it-emoji ships no type declarations; only what this module uses is declared.
declare module 'markdown-it-emoji' {
  import type { MarkdownIt } from 'markdown-it';

  interface EmojiOptions {
    defs?: Record<string, string>;
    shortcuts?: Record<string, string | string[]>;
    enabled?: string[];
  }
  type EmojiPlugin = (md: MarkdownIt, options?: EmojiOptions) => void;

  /** The full gemoji set plus the emoticon shortcuts (`:)`, `<3`, …). */
  export const full: EmojiPlugin;
  export const light: EmojiPlugin;
  export const bare: EmojiPlugin;
}

// The gemoji shortcode → emoji table the plugin uses (reactions accept shortcodes too).
declare module 'markdown-it-emoji/lib/data/full.mjs' {
  const defs: Record<string, string>;
  export default defs;
}
