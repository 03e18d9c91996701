"""Mesa agents as thin views onto the model's arrays: `Mine`, `Committee`, `Centre`.

State lives in `model.state` (replicate row 0); each agent reads and writes its own row through
properties, so Mesa's AgentSet queries, the DataCollector and SolaraViz see ordinary agents while
the daily update stays vectorised in `sim.rules`.
"""

from __future__ import annotations

from typing import Any

import mesa
from mesa.discrete_space import FixedAgent

from sim.network import REPUBLICS, STAGES


class Mine(FixedAgent):
    """A coal enterprise (underground mine, open pit or plant) on the mine network."""

    def __init__(self, model: Any, index: int, cell: Any) -> None:
        super().__init__(model)
        self.index = index
        self.cell = cell

    @property
    def name(self) -> str:
        """Enterprise name (town, kind, number)."""
        return str(self.model.world.mine_name[self.index])

    @property
    def basin(self) -> str:
        """Basin name."""
        return self.model.world.basin_names[self.model.world.basin[self.index]]

    @property
    def city(self) -> str:
        """Town name."""
        return self.model.world.city_names[self.model.world.city[self.index]]

    @property
    def republic(self) -> str:
        """Republic name."""
        return REPUBLICS[self.model.world.republic[self.index]]

    @property
    def workforce(self) -> float:
        """Persons employed."""
        return float(self.model.world.workforce[self.index])

    @property
    def striking(self) -> bool:
        """Whether the enterprise is on strike."""
        return bool(self.model.state.striking[0, self.index])

    @striking.setter
    def striking(self, value: bool) -> None:
        self.model.state.striking[0, self.index] = value

    @property
    def strikers(self) -> float:
        """Workers out today (persons)."""
        s = self.model.state
        return float(s.striking[0, self.index] * s.out_share[0, self.index] * self.workforce)

    @property
    def days_on_strike(self) -> int:
        """Days in the current strike."""
        return int(self.model.state.days_on[0, self.index])

    @property
    def efficacy(self) -> float:
        """Belief that striking works, in [0, 1]."""
        return float(self.model.state.eff[0, self.index])

    @property
    def trust(self) -> float:
        """Trust in the centre, in [0, 1]."""
        return float(self.model.state.trust[0, self.index])

    @property
    def grievances(self) -> dict[str, float]:
        """Wage, ecology and privilege grievances in [0, 1]."""
        g = self.model.state.griev[0, self.index]
        return {"wage": float(g[0]), "ecology": float(g[1]), "privilege": float(g[2])}

    @property
    def stage(self) -> str:
        """Demand stage of the workforce."""
        return STAGES[int(self.model.state.stage[0, self.index])]


class Committee(mesa.Agent):
    """A strike committee of a town (level 'city') or of a basin (level 'basin')."""

    def __init__(self, model: Any, index: int, level: str, area: str) -> None:
        super().__init__(model)
        self.index = index
        self.level = level
        self.area = area

    @property
    def active(self) -> bool:
        """Whether the committee exists today."""
        return bool(self.model.state.c_active[0, self.index])

    @property
    def authority(self) -> float:
        """Regional authority (dual power), in [0, 1]."""
        return float(self.model.state.c_auth[0, self.index])

    @property
    def stage(self) -> str:
        """Demand stage: material, political or sovereignty."""
        return STAGES[int(self.model.state.c_stage[0, self.index])]

    @property
    def won(self) -> bool:
        """Whether it has won a concession."""
        return bool(self.model.state.c_won[0, self.index])

    @property
    def allied(self) -> bool:
        """Whether it has allied with the republic's national movement."""
        return bool(self.model.state.c_allied[0, self.index])


class Centre(mesa.Agent):
    """The Union government and party: concedes by the scenario's timeline and reactive policy."""

    @property
    def strength(self) -> float:
        """Perceived strength of the centre, in [0, 1]."""
        return float(self.model.state.strength[0])

    @property
    def concessions(self) -> int:
        """Concessions made so far, all basins."""
        return int(self.model.state.concessions[0].sum())

    @property
    def promised(self) -> float:
        """Relief promised, summed over basins (grievance units)."""
        return float(self.model.state.promised[0].sum())

    @property
    def implemented(self) -> float:
        """Relief carried out, summed over basins."""
        return float(self.model.state.implemented[0].sum())
