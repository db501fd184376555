from typing import Callable, List, Optional

__version__: str

class EyesimError(Exception): ...

class Outcome:
    text: str
    gate_failed: bool

def run(argv: List[str], progress: Optional[Callable[[str, str, int, Optional[int]], None]] = ...) -> Outcome: ...
def cli_main(argv: List[str]) -> int: ...
