//! Runs protobuf and gRPC codegen into OUT_DIR with the vendored `protoc`, so a fresh machine needs
//! no system protobuf compiler. Also writes the file descriptor set used by server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free: build scripts are single-threaded; PROTOC tells prost-build which compiler to use.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let files = [
        "bottomline/common/v1/common.proto",
        "bottomline/registry/v1/types.proto",
        "bottomline/registry/v1/events.proto",
        "bottomline/registry/v1/registry.proto",
        "bottomline/mara/v1/mara.proto",
        "bottomline/employment/v1/types.proto",
        "bottomline/employment/v1/events.proto",
        "bottomline/employment/v1/employment.proto",
        "bottomline/employment/v1/views.proto",
    ];
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("bottomline_descriptor.bin"))
        .compile_protos(&files, &["."])?;
    // The bench's raw gRPC baseline: compiled apart, so that server reflection of `up` does not
    // list a service it does not serve.
    let bench = ["bottomline/bench/v1/echo.proto"];
    tonic_prost_build::configure().compile_protos(&bench, &["."])?;
    for f in files.iter().chain(&bench) {
        println!("cargo:rerun-if-changed={f}");
    }
    Ok(())
}
