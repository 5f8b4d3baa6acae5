//! C2SP `tlog-tiles` paths and bundles (<https://c2sp.org/tlog-tiles>): tiles of height 8, so a
//! full tile holds 256 hashes; a level-`L` tile holds hashes of tree level `8·L`. Paths are
//! parsed strictly (only the canonical spelling of a tile is accepted), so a cache in front of
//! the server never holds two names for one tile.

use tlog_tiles::stored_hash_index;

/// Hashes per full tile (tile height 8).
pub const TILE_WIDTH: u64 = 256;
const HEIGHT: u8 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileKind {
    /// Hashes at tree level `8 · level`.
    Hashes { level: u8 },
    /// The entry bundle of the leaves a level-0 tile covers.
    Entries,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    pub kind: TileKind,
    /// Index of the tile within its level.
    pub n: u64,
    /// How many hashes (or entries) it holds, 1 to 256.
    pub width: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tile path: {0}")]
pub struct TilePathError(&'static str);

fn encode_index(n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        parts.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

impl TilePath {
    /// The path below the log's prefix, e.g. `tile/0/x001/234.p/7` or `tile/entries/000`.
    pub fn path(&self) -> String {
        let kind = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_string(),
        };
        let partial = if self.width == TILE_WIDTH {
            String::new()
        } else {
            format!(".p/{}", self.width)
        };
        format!("tile/{kind}/{}{partial}", encode_index(self.n))
    }

    /// Parse a path below the log's prefix; only canonical spellings are accepted.
    pub fn parse(path: &str) -> Result<TilePath, TilePathError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or(TilePathError("must start with tile/"))?;
        let (kind, rest) = rest.split_once('/').ok_or(TilePathError("no index"))?;
        let kind = if kind == "entries" {
            TileKind::Entries
        } else {
            let level: u8 = kind.parse().map_err(|_| TilePathError("bad level"))?;
            if level > 63 {
                return Err(TilePathError("level above 63"));
            }
            TileKind::Hashes { level }
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, w)) => {
                let w: u64 = w.parse().map_err(|_| TilePathError("bad width"))?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(TilePathError("partial width must be 1 to 255"));
                }
                (index, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let mut n: u64 = 0;
        let parts: Vec<&str> = index.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let digits = if last {
                *part
            } else {
                part.strip_prefix('x')
                    .ok_or(TilePathError("inner index elements start with x"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TilePathError("index elements have three digits"));
            }
            let d: u64 = digits.parse().map_err(|_| TilePathError("bad index"))?;
            n = n
                .checked_mul(1000)
                .and_then(|n| n.checked_add(d))
                .ok_or(TilePathError("index too large"))?;
        }
        let tile = TilePath { kind, n, width };
        if tile.path() != path {
            return Err(TilePathError("not the canonical spelling"));
        }
        Ok(tile)
    }

    /// The tree level of the hashes a hash tile holds.
    fn tree_level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes { level } => level.saturating_mul(HEIGHT),
            TileKind::Entries => 0,
        }
    }

    /// How many leaves a tree must have for this tile to exist.
    pub fn needs_size(&self) -> u128 {
        let covered = u128::from(self.n) * u128::from(TILE_WIDTH) + u128::from(self.width);
        covered << self.tree_level()
    }

    /// The leaf indexes an entry bundle covers.
    pub fn leaf_range(&self) -> std::ops::Range<u64> {
        let start = self.n.saturating_mul(TILE_WIDTH);
        start..start.saturating_add(self.width)
    }

    /// The stored-hash indexes of a hash tile's hashes, in tile order.
    pub fn stored_indexes(&self) -> Vec<u64> {
        let level = self.tree_level();
        self.leaf_range()
            .map(|i| stored_hash_index(level, i))
            .collect()
    }
}

/// An entry bundle: each entry as a big-endian 16-bit length and its bytes.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&e[..usize::from(len)]);
    }
    out
}

/// Split an entry bundle back into entries.
pub fn decode_bundle(mut b: &[u8]) -> Result<Vec<&[u8]>, TilePathError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 2 {
            return Err(TilePathError("truncated bundle"));
        }
        let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
        if b.len() < 2 + len {
            return Err(TilePathError("truncated bundle"));
        }
        out.push(&b[2..2 + len]);
        b = &b[2 + len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_c2sp_examples_and_round_trip() {
        let t = TilePath {
            kind: TileKind::Hashes { level: 0 },
            n: 1_234_067,
            width: 256,
        };
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        let p = TilePath {
            kind: TileKind::Entries,
            n: 7,
            width: 3,
        };
        assert_eq!(p.path(), "tile/entries/007.p/3");
        for t in [t, p] {
            assert_eq!(TilePath::parse(&t.path()), Ok(t));
        }
        for bad in [
            "tile/0/x000/001",
            "tile/0/1",
            "tile/0/001.p/256",
            "tile/0/001.p/0",
            "tile/64/000",
            "tile/0/001/002",
            "tiles/0/000",
            "tile/data/000",
            "tile/0/x001",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tiles_name_the_hashes_of_their_level() {
        let t = TilePath::parse("tile/1/000.p/2").unwrap();
        assert_eq!(
            t.stored_indexes(),
            vec![stored_hash_index(8, 0), stored_hash_index(8, 1)]
        );
        assert_eq!(t.needs_size(), 512);
        let bundle = encode_bundle([b"ab".as_slice(), b"".as_slice(), b"xyz".as_slice()]);
        assert_eq!(bundle, b"\x00\x02ab\x00\x00\x00\x03xyz");
        assert_eq!(
            decode_bundle(&bundle).unwrap(),
            vec![b"ab".as_slice(), b"", b"xyz"]
        );
        assert!(decode_bundle(b"\x00\x05ab").is_err());
    }
}
