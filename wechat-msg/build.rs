//! Rebuild the crate when anything under `api-spec/` changes, including files
//! added to it. The macro's `include_bytes!` already tracks the files it read;
//! a directory watch also catches a new file.
fn main() {
    println!("cargo:rerun-if-changed=api-spec");
    println!("cargo:rerun-if-changed=build.rs");
}
