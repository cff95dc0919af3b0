// Types of the functions scripts/docs.mjs exports, for the tests that use them.

/** The markdown files the check covers: README.md and every .md under docs/. */
export declare const markdownFiles: (root: string) => Array<string>

/** Rewrites `from "../src/X.js"` (any depth) into the package import a user writes. */
export declare const toPackageImports: (source: string) => string

/** The fenced block a file is shown as. */
export declare const renderBlock: (source: string) => string

export interface Include {
  readonly path: string
  readonly start: number
  readonly end: number
  /** The lines between the markers, fences included. */
  readonly current: string
}

/** Parses one markdown text into its include regions, uncovered TypeScript fences and problems. */
export declare const parseMarkdown: (text: string) => {
  readonly lines: Array<string>
  readonly includes: Array<Include>
  readonly uncovered: Array<{ readonly line: number; readonly lang: string }>
  readonly problems: Array<string>
}

/** Checks every markdown file; returns a list of problems (empty when the docs are in sync). */
export declare const check: (root: string) => Array<string>
