-- cft session store, schema 7: compressed contents.
-- Baseline packs are now a sequence of zstd frames, each the concatenated
-- contents of up to 128 KiB of files (one frame per larger file): an entry
-- keeps the frame's offset in `pack_offset` and its content's offset inside
-- the decompressed frame in `pack_within`. NULL there means a pack written
-- before this schema: raw bytes at `pack_offset`, read as before.
ALTER TABLE entries ADD COLUMN pack_within INTEGER;
-- A blob's `data` is one zstd frame of `size` bytes when `zstd` is 1, the
-- raw content when 0 (every blob stored before this schema, and a content
-- that compression does not make smaller).
ALTER TABLE blobs ADD COLUMN zstd INTEGER NOT NULL DEFAULT 0;
