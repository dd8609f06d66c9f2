// Strings for comparing llama.cpp's tokenizer with Hugging Face's: plain
// ASCII, code, CJK, emoji (with joiners and modifiers), runs of whitespace and
// newlines, digits, and the model's own special tokens inside text.

const SENTENCES = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
  'Mr. Smith paid $1,234.56 on 2024-03-15 at 10:30am (UTC+2).',
  'e-mail: someone@example.com, url: https://huggingface.co/models?sort=trending',
  'ALL CAPS AND lower case And Title Case',
  'naïve café résumé façade coöperate Ångström',
  'Привет, как дела? Всё хорошо.',
  'Γειά σου Κόσμε',
  'مرحبا بالعالم',
  'שלום עולם',
  'नमस्ते दुनिया',
  'สวัสดีชาวโลก',
  'កាន់តែពិសេសអាច',
  '你好，世界！今天天气很好。',
  '我想在apple工作1314151天～',
  'こんにちは世界。カタカナとひらがな、漢字。',
  '안녕하세요 세계',
  '🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙',
  '👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵 ❤️',
  '3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3',
  "''''''```````\"\"\"\"......!!!!!!??????",
  '------======= нещо на Български',
  'a\u00a0b\u2009c\u3000d',
  'tab\tseparated\tvalues\t\t',
  'zero\u200bwidth\u200cjoiners\u200d',
];

const CODE = [
  'def add(a, b):\n    return a + b\n',
  'for (let i = 0; i < n; i++) {\n\tconsole.log(i);\n}',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;',
  '<div class="x">&nbsp;&lt;tag&gt;</div>',
  '{"key": [1, 2, 3], "nested": {"a": null, "b": true}}',
  'fn main() -> Result<(), Box<dyn Error>> { Ok(()) }',
  '    indented with four spaces\n        and eight',
  'x = [i ** 2 for i in range(10) if i % 2 == 0]  # squares',
  '$ git commit -m "fix: handle \\"quotes\\"" && echo ok',
];

const WHITESPACE = [
  '\n',
  ' ',
  '  ',
  '   ',
  '\t',
  '\n\n',
  '\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n',
  ' leading',
  'trailing ',
  '  both  ',
  'a  b   c    d',
  'line1\nline2\r\nline3\rline4',
  '\n\n\nparagraph\n\n',
];

/**
 * At least 200 strings: the fragments alone, in pairs, with whitespace
 * between, and each special token embedded in text.
 */
export function tokenizationCorpus(specialTokens: string[]): string[] {
  const base = [...SENTENCES, ...CODE, ...WHITESPACE];
  const out = new Set<string>(base);
  for (let i = 0; i < base.length; i++) {
    out.add(`${base[i]} ${base[(i * 7 + 3) % base.length]}`);
    out.add(`${base[i]}\n\n${base[(i * 11 + 5) % base.length]}`);
    out.add(base[i].toUpperCase());
    out.add(`${base[i]}\n`);
  }
  for (const [i, token] of specialTokens.entries()) {
    out.add(`${token}`);
    out.add(`${SENTENCES[i % SENTENCES.length]}${token}`);
    out.add(`${token}user\n${SENTENCES[(i + 3) % SENTENCES.length]}${token}\n`);
    out.add(` ${token} spaced ${token} `);
  }
  return [...out];
}

// Words in Llama 3's vocabulary that BPE merges alone cannot build: with
// `ignore_merges` (Hugging Face's Llama 3 tokenizer.json, llama.cpp's
// llama-bpe) each is one token, without it (smaug-bpe) several. Every 12th
// of the 587 such words, found by tokenizing each vocabulary entry with and
// without ignore_merges; the parity test checks that each still differs.
export const LLAMA3_WHOLE_WORDS = [
  ' việc',
  'аракт',
  ' oluştur',
  ' geliş',
  'ıyordu',
  ' Ayrıca',
  ' uveden',
  ' století',
  ' stejně',
  ' zprac',
  ' Федерации',
  ' например',
  'Türkiye',
  'uyordu',
  ' türlü',
  ' nejsou',
  ' Việc',
  'iyesi',
  ' kaldı',
  ' günlük',
  'üyordu',
  ' söyley',
  ' fotoğraf',
  ' zástup',
  'ávací',
  ' yaptır',
  ' thiểu',
  ' воздух',
  ' Müslüman',
  ' etmektedir',
  ' fırsat',
  ' teklif',
  ' Cumhuriyeti',
  ' dolaş',
  ' prvním',
  ' miệng',
  ' безпеки',
  ' İtalya',
  ' آینده',
  ' заним',
  ' 오후',
  ' Belediyesi',
  ' kırmızı',
  ' podmínek',
  ' натураль',
  ' přiroz',
  ' профилакти',
  'ımlı',
  ' vystav',
];

/** The whole words alone, in running text, glued to punctuation and digits, and at line starts. */
export function ignoreMergesCorpus(words: readonly string[]): string[] {
  const out = new Set<string>();
  for (const [i, word] of words.entries()) {
    const next = words[(i * 7 + 3) % words.length];
    out.add(word);
    out.add(word.trimStart());
    out.add(`Hello${word}, and${next}.`);
    out.add(`${word}${next}${word}`);
    out.add(`(${word.trim()}) 2024${word}!`);
    out.add(`\n${word.trimStart()}\n${next}\n`);
  }
  return [...out];
}
