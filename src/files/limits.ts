/** Config-sized files (JSON, vocabularies, tokenizer.json): 512 MiB is far above any real one. */
export const MAX_CONFIG_BYTES = 512 * 1024 * 1024;
