//! The `cft-shim` binary: the shim alone, the smallest thing to run in
//! front of every wrapped tool (the same code as `cft` called by a tool's
//! name).

fn main() {
    shim::run()
}
