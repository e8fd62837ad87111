//! Model bytes that the engine reads weights from in place.
//!
//! Natively a file is memory-mapped; in wasm (or for tests) the bytes are one
//! owned buffer. Either way the weights are never copied a second time.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

enum Backing {
    Owned(Vec<u8>),
    #[cfg(not(target_arch = "wasm32"))]
    Mapped(memmap2::Mmap),
}

/// Cheaply clonable, immutable model bytes (an `Arc` over a buffer or a memory map).
#[derive(Clone)]
pub struct ModelBytes(Arc<Backing>);

impl ModelBytes {
    /// Wraps an owned buffer.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        ModelBytes(Arc::new(Backing::Owned(bytes)))
    }

    /// Memory-maps a file read-only.
    ///
    /// The file must not be modified while mapped; model files are treated as immutable.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn map_file(path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the map is read-only and model files are not modified while loaded;
        // this is the same contract llama.cpp relies on for its mmap loader.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(ModelBytes(Arc::new(Backing::Mapped(map))))
    }

    /// Whether the bytes are a memory map (as opposed to an owned buffer).
    pub fn is_mapped(&self) -> bool {
        match &*self.0 {
            Backing::Owned(_) => false,
            #[cfg(not(target_arch = "wasm32"))]
            Backing::Mapped(_) => true,
        }
    }
}

impl Deref for ModelBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &*self.0 {
            Backing::Owned(v) => v,
            #[cfg(not(target_arch = "wasm32"))]
            Backing::Mapped(m) => m,
        }
    }
}

impl AsRef<[u8]> for ModelBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for ModelBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelBytes")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}
