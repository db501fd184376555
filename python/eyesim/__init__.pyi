"""Type stubs of the eyesim package. See the module docstring and README."""

import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

PathLike = Union[str, os.PathLike[str]]
Net = Union[PathLike, "Network"]
Hw = Union[PathLike, "Hardware"]
#: A pandas.DataFrame when pandas is installed, else {column: values}.
Table = Any

__version__: str

class Error(Exception):
    message: str
    exit_code: int
    def __init__(self, message: str, exit_code: int = ...) -> None: ...

class Network:
    spec: str
    def __init__(self, spec: PathLike) -> None: ...
    @property
    def is_onnx(self) -> bool: ...
    @property
    def layers(self) -> Table: ...

class Hardware:
    spec: str
    overrides: Dict[str, float]
    def __init__(self, spec: PathLike, overrides: Mapping[str, float]) -> None: ...
    def args(self) -> List[str]: ...

class Result:
    kind: str
    text: str
    files: Dict[str, bytes]
    passed: bool
    def table(self, name: str) -> Table: ...
    @property
    def tables(self) -> List[str]: ...
    @property
    def layers(self) -> Table: ...
    @property
    def accesses(self) -> Table: ...
    @property
    def components(self) -> Table: ...
    @property
    def crosscheck(self) -> Table: ...
    @property
    def points(self) -> Table: ...
    @property
    def sweep(self) -> Table: ...
    def save(self, folder: PathLike) -> Path: ...

def network(spec: Net = ...) -> Network: ...
def hardware(spec: Hw = ..., **overrides: float) -> Hardware: ...
def estimate(net: Net = ..., hw: Hw = ..., *, batch: Optional[int] = ..., objective: str = ...,
             dense: bool = ..., mapping: Optional[PathLike] = ...,
             out: Optional[PathLike] = ...) -> Result: ...
def simulate(net: Net = ..., hw: Hw = ..., *, layers: Optional[Sequence[str]] = ..., seed: int = ...,
             weights: Optional[PathLike] = ..., threads: Optional[int] = ...,
             batch: Optional[int] = ..., objective: str = ..., dense: bool = ...,
             mapping: Optional[PathLike] = ..., out: Optional[PathLike] = ...,
             progress: bool = ...) -> Result: ...
def crosscheck(net: Net = ..., hw: Hw = ..., *, tolerance: float = ..., dense_tolerance: float = ...,
               cycle_tolerance: float = ..., layers: Optional[Sequence[str]] = ..., seed: int = ...,
               weights: Optional[PathLike] = ..., threads: Optional[int] = ...,
               batch: Optional[int] = ..., objective: str = ..., dense: bool = ...,
               mapping: Optional[PathLike] = ..., out: Optional[PathLike] = ...,
               progress: bool = ...) -> Result: ...
def sweep(net: Net = ..., hw: Hw = ..., *, vary: Mapping[str, Union[str, Iterable[float]]],
          simulate: bool = ..., out: Optional[PathLike] = ..., progress: bool = ...,
          **options: Any) -> Result: ...
def prune(net: Net = ..., hw: Hw = ..., *, out: Optional[PathLike] = ..., progress: bool = ...,
          **options: Any) -> Result: ...
def run(net: Net = ..., hw: Hw = ..., *, out: Optional[PathLike] = ..., progress: bool = ...,
        **options: Any) -> Result: ...
