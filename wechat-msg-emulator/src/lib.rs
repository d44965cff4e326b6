//! A local WeChat emulator (in progress).
