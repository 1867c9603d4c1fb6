"""Early stopping: watch the test loss at each evaluation, keep a copy of the weights of the best
one, and after `patience` evaluations without improvement put those weights back and end the run."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


@dataclass
class EarlyStop:
    patience: int                           # evaluations without a new best before the run ends
    best_loss: float = math.inf             # the lowest test loss seen
    best_step: int = -1                     # the step of that evaluation
    waited: int = 0                         # evaluations since it
    last_step: int = -1                     # the step of the latest evaluation counted
    stopped_at: int | None = None           # the step the run ended at (None: still going)
    _best: dict = field(default_factory=dict, repr=False)   # state_dict copy of the best weights

    def update(self, loss: float, step: int, model: torch.nn.Module) -> bool:
        """Record one evaluation; True when the run must stop now (the best weights are then back)."""
        if self.stopped_at is not None or step <= self.last_step:       # ended, or this step was seen
            return False
        self.last_step = step
        if loss < self.best_loss:
            self.best_loss, self.best_step, self.waited = loss, step, 0
            self._best = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.waited += 1
        if self.waited < self.patience or not self._best:               # no finite best to go back to
            return False
        model.load_state_dict(self._best)                    # copies into the same tensors, bit for bit
        self.stopped_at = step
        return True

    @property
    def message(self) -> str:
        """'' while the run goes on; afterwards what happened, for the page and the CLI."""
        if self.stopped_at is None:
            return ""
        return (f"stopped early at step {self.stopped_at}; restored the weights of step {self.best_step} "
                f"(its test loss {self.best_loss:.4g} was not beaten in {self.patience} evaluations)")
