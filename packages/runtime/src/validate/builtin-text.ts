// The text the optional score check reads: plain English with common words,
// digits and punctuation, so a working model of any size gives it a far lower
// per-token loss than a broken one. Written for Alki; not from a data set.
export const SCORE_TEXT =
  'The river runs past the old mill and under the stone bridge. In the morning the baker opens his shop, ' +
  'and the smell of fresh bread fills the street. Children walk to school in small groups, talking about ' +
  'the games they will play after class. By noon the market is busy: farmers sell apples, cheese and eggs, ' +
  'and a man with a cart offers to sharpen knives for two coins each. When the sun goes down, the lamps ' +
  'are lit one by one, and the town grows quiet again.';

/** The default prompt of the short generation check. */
export const DEFAULT_PROMPT = 'The capital of France is';
