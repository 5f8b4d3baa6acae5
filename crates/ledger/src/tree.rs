//! The RFC 6962 Merkle tree, through `tlog_tiles` (stored-hash layout of Go's tlog, which the
//! C2SP tlog-tiles tiles are cut from). [`MemoryLog`] keeps every stored hash in memory: the
//! reference the database-backed log is checked against, and what `audit` recomputes with.

pub use tlog_tiles::Hash;
use tlog_tiles::{HashReader, RecordProof, TreeProof};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("index {index} is not below tree size {size}")]
    OutOfRange { index: u64, size: u64 },
    #[error("the proof does not match")]
    Mismatch,
    #[error("stored hash {0} is missing")]
    Missing(u64),
}

/// The leaf hash of RFC 6962: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    tlog_tiles::record_hash(data)
}

#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    stored: Vec<Hash>,
    size: u64,
}

impl HashReader for MemoryLog {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.stored
                    .get(usize::try_from(i).map_err(|_| tlog_tiles::Error::InvalidProof)?)
                    .copied()
                    .ok_or(tlog_tiles::Error::InvalidProof)
            })
            .collect()
    }
}

impl MemoryLog {
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf; returns its index. The new stored hashes are what a database-backed log
    /// writes in the same transaction as the entry.
    pub fn append(&mut self, data: &[u8]) -> u64 {
        let hashes = tlog_tiles::stored_hashes(self.size, data, self)
            .expect("a memory log holds every earlier hash");
        self.stored.extend(hashes);
        self.size += 1;
        self.size - 1
    }

    /// The stored hashes, in storage order (for comparing with a database's).
    pub fn stored_hashes(&self) -> &[Hash] {
        &self.stored
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, TreeError> {
        if size > self.size {
            return Err(TreeError::OutOfRange {
                index: size,
                size: self.size,
            });
        }
        tlog_tiles::tree_hash(size, self).map_err(|_| TreeError::Mismatch)
    }

    /// Inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<RecordProof, TreeError> {
        if index >= size || size > self.size {
            return Err(TreeError::OutOfRange { index, size });
        }
        tlog_tiles::prove_record(size, index, self).map_err(|_| TreeError::Mismatch)
    }

    /// Consistency proof from the tree of `old` leaves to the tree of `new` leaves.
    pub fn consistency(&self, old: u64, new: u64) -> Result<TreeProof, TreeError> {
        if old > new || new > self.size {
            return Err(TreeError::OutOfRange {
                index: old,
                size: new,
            });
        }
        tlog_tiles::prove_tree(new, old, self).map_err(|_| TreeError::Mismatch)
    }
}

/// Does `proof` show that `leaf` (the leaf's data) is at `index` in the tree `root` of `size`?
pub fn check_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    data: &[u8],
) -> Result<(), TreeError> {
    if index >= size {
        return Err(TreeError::OutOfRange { index, size });
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, index, leaf_hash(data))
        .map_err(|_| TreeError::Mismatch)
}

/// Does `proof` show that the tree `old_root` of `old` leaves is a prefix of `new_root`?
pub fn check_consistency(
    proof: &[Hash],
    new: u64,
    new_root: Hash,
    old: u64,
    old_root: Hash,
) -> Result<(), TreeError> {
    tlog_tiles::check_tree(&proof.to_vec(), new, new_root, old, old_root)
        .map_err(|_| TreeError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaves of the reference tree in RFC 6962's reference implementation's tests
    /// (certificate-transparency `merkle_tree_test`), and its roots for sizes 1 to 8.
    const LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference_log() -> MemoryLog {
        let mut log = MemoryLog::new();
        for leaf in LEAVES {
            log.append(leaf);
        }
        log
    }

    #[test]
    fn roots_match_the_rfc_6962_reference_vectors() {
        let log = reference_log();
        for (i, want) in ROOTS.iter().enumerate() {
            assert_eq!(
                hex::encode(log.root(i as u64 + 1).expect("root").0),
                *want,
                "size {}",
                i + 1
            );
        }
        assert_eq!(
            hex::encode(log.root(0).expect("root").0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_and_no_wrong_one_does() {
        let mut log = MemoryLog::new();
        let leaves: Vec<Vec<u8>> = (0..40u32).map(|i| i.to_be_bytes().to_vec()).collect();
        for l in &leaves {
            log.append(l);
        }
        for size in 1..=40u64 {
            let root = log.root(size).expect("root");
            for index in 0..size {
                let proof = log.inclusion(index, size).expect("proof");
                assert_eq!(
                    check_inclusion(&proof, size, root, index, &leaves[index as usize]),
                    Ok(())
                );
                let other = &leaves[((index + 1) % size) as usize];
                if size > 1 {
                    assert_eq!(
                        check_inclusion(&proof, size, root, index, other),
                        Err(TreeError::Mismatch)
                    );
                }
            }
            for old in 1..=size {
                let proof = log.consistency(old, size).expect("proof");
                let old_root = log.root(old).expect("root");
                assert_eq!(check_consistency(&proof, size, root, old, old_root), Ok(()));
                if old < size {
                    assert!(check_consistency(&proof, size, root, old, root).is_err());
                }
            }
        }
        assert_eq!(
            log.inclusion(40, 40),
            Err(TreeError::OutOfRange {
                index: 40,
                size: 40
            })
        );
    }
}
