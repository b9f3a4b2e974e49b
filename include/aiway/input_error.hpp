// Bad input from the user (a scenario, an override, a results file, an output
// path): the message says what and where; the CLI exits 2.
#pragma once

#include <stdexcept>

namespace aiway {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace aiway
