// Writes the seed corpus: every sample message, with and without MAC (key 1 = 0x42 x 32, as the
// fuzz target's keyring). Run: make_corpus DIR
#include <fstream>
#include <iostream>

#include "wire/sample_messages.hpp"
#include "wire/codec.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus DIR\n";
    return 2;
  }
  baker::wire::Keyring keys;
  baker::wire::Key key{};
  key.fill(0x42);
  keys.add(1, key, true);
  int n = 0;
  for (const auto& m : baker::wire::samples::sample_messages()) {
    const baker::wire::Keyring* rings[] = {nullptr, &keys};
    for (const baker::wire::Keyring* k : rings) {
      const auto b = baker::wire::encode(m, k);
      std::ofstream(std::string(argv[1]) + "/seed-" + std::to_string(n++), std::ios::binary)
          .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
  }
  std::cout << "wrote " << n << " seeds\n";
}
