"""Teaching engines for the Learn pages: convolution and pooling, activation functions,
backpropagation by hand. Each is a small set of pure functions over numpy / torch that
the pages call without training anything; tests check every number against torch."""
