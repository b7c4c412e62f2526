/**
 * DOC: damo's 256-colour terminal colour sets (`_damo_ascii_color.py`).
 */

/** {name: [background colours, foreground colours]} by level 0..9. */
export const DAMO_COLORSETS: Readonly<Record<string, readonly [readonly number[], readonly number[]]>> = {
  gray: [new Array(10).fill(232), [237, 239, 241, 243, 245, 247, 249, 251, 253, 255]],
  flame: [
    [232, 1, 1, 2, 3, 3, 20, 21, 26, 27, 27],
    [239, 235, 237, 239, 243, 245, 247, 249, 251, 255],
  ],
  emotion: [
    [232, 234, 20, 21, 26, 2, 3, 1, 1, 1],
    [239, 235, 237, 239, 243, 245, 247, 249, 251, 255],
  ],
};

/** Highest colour level (levels run 0..9) @kernel max_color_level (damo _damo_ascii_color.py) */
export const DAMO_MAX_COLOR_LEVEL = 9;

/** ANSI escape that starts background and foreground colours of `level` in `colorset`. @kernel color_mode_start_txt (damo _damo_ascii_color.py) */
export function colorModeStartTxt(colorset: string, level: number): string {
  const c = DAMO_COLORSETS[colorset];
  if (c === undefined) throw new Error(`damo: wrong colorset (${colorset})`);
  return `\u001b[48;5;${c[0][level]}m\u001b[38;5;${c[1][level]}m`;
}

/** ANSI escape that resets colours. @kernel color_mode_end_txt (damo _damo_ascii_color.py) */
export function colorModeEndTxt(): string {
  return '\u001b[0m';
}

/** `txt` wrapped in the colours of `level` in `colorset`. @kernel colored (damo _damo_ascii_color.py) */
export function colored(txt: string, colorset: string, level: number): string {
  return `${colorModeStartTxt(colorset, level)}${txt}${colorModeEndTxt()}`;
}

/** Every level of `colorset` as a coloured digit, for a legend. @kernel color_samples (damo _damo_ascii_color.py) */
export function colorSamples(colorset: string): string {
  let s = '';
  for (let l = 0; l <= DAMO_MAX_COLOR_LEVEL; l++) s += `${colorModeStartTxt(colorset, l)}${l}`;
  return s + colorModeEndTxt();
}

/** Remove ANSI colour codes (for plain text output). */
export function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}
