//! Generated protobuf messages and gRPC stubs of every bottomline context, one module per
//! versioned package (`bottomline.<context>.v1`). Nothing else lives here: conversions between
//! these types and domain types belong to each service's `convert` module.
#![allow(missing_docs, clippy::all)]

/// Encoded `FileDescriptorSet` of every package, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/bottomline_descriptor.bin"));

/// `bottomline.common.*`
pub mod common {
    /// `bottomline.common.v1`
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/bottomline.common.v1.rs"));
    }
}

/// `bottomline.registry.*`
pub mod registry {
    /// `bottomline.registry.v1`
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/bottomline.registry.v1.rs"));
    }
}

/// `bottomline.mara.*`
pub mod mara {
    /// `bottomline.mara.v1`
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/bottomline.mara.v1.rs"));
    }
}

/// `bottomline.employment.*`
pub mod employment {
    /// `bottomline.employment.v1`
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/bottomline.employment.v1.rs"));
    }
}

/// `bottomline.bench.*`: the bench's raw gRPC baseline (not in [`FILE_DESCRIPTOR_SET`]).
pub mod bench {
    /// `bottomline.bench.v1`
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/bottomline.bench.v1.rs"));
    }
}
