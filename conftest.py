"""Root wiring only: the jobcontracts plugin itself is registered through its
`pytest11` entry point; `pytester` runs the suite inside the selftests."""

pytest_plugins = ["pytester"]
