export type { Mentions, RenderMember } from './mentions.js';
export type { MessageFormat, Rendered } from './render.js';
export { messageFormat, renderMessage, warmUpRenderer } from './render.js';
