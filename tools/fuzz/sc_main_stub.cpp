// libsystemc.so carries a main() that calls sc_main, so the symbol must exist; fuzz_readers has
// its own main, and the timed model elaborates and starts SystemC itself, so this never runs.
extern "C" int sc_main(int, char**) { return 1; }
