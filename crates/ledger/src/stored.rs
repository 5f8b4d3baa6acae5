//! A database-backed log keeps its stored hashes (Go tlog's layout, keyed by
//! [`tlog_tiles::stored_hash_index`]) in a table. This module is the pure arithmetic around that
//! table: the right-hand [`Frontier`] a single writer keeps in memory to append without reading,
//! and "plans" that name the stored hashes a root or a proof needs, so that the caller fetches
//! them in one query and then builds the proof from what it fetched.

use std::cell::RefCell;
use std::collections::HashMap;
use tlog_tiles::{node_hash, stored_hash_index, Hash, HashReader};

use crate::tree::TreeError;

/// The hashes of the complete subtrees on the right edge of a tree: at level `k`, the last stored
/// hash of that level. Enough to append leaves and to compute the root, nothing more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frontier {
    size: u64,
    by_level: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored indexes [`Frontier::load`] needs for a tree of `size` leaves.
    pub fn indexes(size: u64) -> Vec<u64> {
        (0..64u8)
            .take_while(|&k| size >> k > 0)
            .map(|k| stored_hash_index(k, (size >> k) - 1))
            .collect()
    }

    /// Rebuild the frontier of a tree of `size` leaves from the stored hashes named by
    /// [`Frontier::indexes`].
    pub fn load(size: u64, hashes: &HashMap<u64, Hash>) -> Result<Frontier, TreeError> {
        let by_level = Frontier::indexes(size)
            .iter()
            .map(|i| hashes.get(i).copied().ok_or(TreeError::Missing(*i)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Frontier { size, by_level })
    }

    /// Append a leaf by its hash; returns the new stored hashes with their indexes, in storage
    /// order (the same hashes as `tlog_tiles::stored_hashes`).
    pub fn append(&mut self, leaf: Hash) -> Vec<(u64, Hash)> {
        let mut out = Vec::with_capacity(2);
        let mut n = self.size;
        let mut level = 0u8;
        let mut h = leaf;
        loop {
            out.push((stored_hash_index(level, n), h));
            let l = usize::from(level);
            if l == self.by_level.len() {
                self.by_level.push(h);
            } else {
                let left = self.by_level[l];
                self.by_level[l] = h;
                if n & 1 == 1 {
                    h = node_hash(left, h);
                    n >>= 1;
                    level += 1;
                    continue;
                }
            }
            break;
        }
        self.size += 1;
        out
    }

    /// The hashes [`Frontier::load`] takes back, in the order of [`Frontier::indexes`] (what a
    /// monitor keeps between runs).
    pub fn hashes(&self) -> &[Hash] {
        &self.by_level
    }

    /// The root of the tree (RFC 6962 MTH), `SHA-256("")` when empty.
    pub fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        for k in 0..self.by_level.len() {
            if self.size >> k & 1 == 1 {
                let h = self.by_level[k];
                acc = Some(match acc {
                    None => h,
                    Some(right) => node_hash(h, right),
                });
            }
        }
        acc.unwrap_or(tlog_tiles::EMPTY_HASH)
    }
}

/// Records which stored hashes a `tlog_tiles` function asks for, answering with placeholders.
/// The functions ask once, with indexes that depend only on the sizes, so recording a dry run
/// names exactly what the real run will read.
struct Recorder(RefCell<Vec<u64>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash([0; 32]); indexes.len()])
    }
}

struct MapReader<'a>(&'a HashMap<u64, Hash>);

impl HashReader for MapReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .get(i)
                    .copied()
                    .ok_or(tlog_tiles::Error::InvalidProof)
            })
            .collect()
    }
}

/// A proof or root to build from stored hashes: what to fetch, then how to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The root of the tree of `size` leaves.
    Root { size: u64 },
    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    Inclusion { index: u64, size: u64 },
    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves.
    Consistency { old: u64, new: u64 },
}

impl Plan {
    fn run<R: HashReader>(self, r: &R) -> Result<Vec<Hash>, TreeError> {
        let mismatch = |_| TreeError::Mismatch;
        match self {
            Plan::Root { size } => tlog_tiles::tree_hash(size, r)
                .map(|h| vec![h])
                .map_err(mismatch),
            Plan::Inclusion { index, size } => {
                if index >= size {
                    return Err(TreeError::OutOfRange { index, size });
                }
                tlog_tiles::prove_record(size, index, r).map_err(mismatch)
            }
            Plan::Consistency { old, new } => {
                if old > new {
                    return Err(TreeError::OutOfRange {
                        index: old,
                        size: new,
                    });
                }
                if old == 0 {
                    return Ok(Vec::new());
                }
                tlog_tiles::prove_tree(new, old, r).map_err(mismatch)
            }
        }
    }

    /// The stored indexes this plan reads (none out of range for a tree that holds the sizes).
    pub fn indexes(self) -> Result<Vec<u64>, TreeError> {
        let rec = Recorder(RefCell::new(Vec::new()));
        self.run(&rec)?;
        Ok(rec.0.into_inner())
    }

    /// Build the proof (or the one-element root) from the fetched hashes.
    pub fn build(self, hashes: &HashMap<u64, Hash>) -> Result<Vec<Hash>, TreeError> {
        self.run(&MapReader(hashes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{check_consistency, check_inclusion, leaf_hash, MemoryLog};

    fn all(log: &MemoryLog) -> HashMap<u64, Hash> {
        log.stored_hashes()
            .iter()
            .enumerate()
            .map(|(i, h)| (i as u64, *h))
            .collect()
    }

    #[test]
    fn frontier_writes_the_same_stored_hashes_and_roots_as_tlog() {
        let mut log = MemoryLog::new();
        let mut f = Frontier::new();
        for i in 0..300u32 {
            let data = i.to_be_bytes();
            let before = log.stored_hashes().len() as u64;
            log.append(&data);
            let new = f.append(leaf_hash(&data));
            let want: Vec<(u64, Hash)> = log.stored_hashes()[before as usize..]
                .iter()
                .enumerate()
                .map(|(k, h)| (before + k as u64, *h))
                .collect();
            assert_eq!(new, want, "leaf {i}");
            assert_eq!(f.root(), log.root(f.size()).unwrap(), "size {}", f.size());
            let reloaded = Frontier::load(f.size(), &all(&log)).unwrap();
            assert_eq!(reloaded, f, "reload at size {}", f.size());
        }
        assert_eq!(Frontier::new().root(), log.root(0).unwrap());
    }

    #[test]
    fn plans_fetch_only_what_they_name_and_build_valid_proofs() {
        let mut log = MemoryLog::new();
        let leaves: Vec<[u8; 4]> = (0..70u32).map(u32::to_be_bytes).collect();
        for l in &leaves {
            log.append(l);
        }
        let full = all(&log);
        let subset = |idx: Vec<u64>| -> HashMap<u64, Hash> {
            idx.into_iter().map(|i| (i, full[&i])).collect()
        };
        for size in 1..=70u64 {
            let plan = Plan::Root { size };
            let root = plan.build(&subset(plan.indexes().unwrap())).unwrap()[0];
            assert_eq!(root, log.root(size).unwrap());
            for index in (0..size).step_by(7) {
                let p = Plan::Inclusion { index, size };
                let proof = p.build(&subset(p.indexes().unwrap())).unwrap();
                check_inclusion(&proof, size, root, index, &leaves[index as usize]).unwrap();
            }
            for old in 0..=size {
                let p = Plan::Consistency { old, new: size };
                let proof = p.build(&subset(p.indexes().unwrap())).unwrap();
                if old > 0 {
                    check_consistency(&proof, size, root, old, log.root(old).unwrap()).unwrap();
                } else {
                    assert!(proof.is_empty());
                }
            }
        }
        assert_eq!(
            Plan::Inclusion { index: 5, size: 5 }.indexes(),
            Err(TreeError::OutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            Plan::Root { size: 9 }.build(&HashMap::new()),
            Err(TreeError::Mismatch)
        );
    }
}
