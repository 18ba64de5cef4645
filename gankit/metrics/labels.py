"""What a metric's value is: the feature space and the generated vs real counts it was computed on, and the
spread of a real-vs-real floor over its splits. A Fréchet distance in LeNet space never reads as an Inception
FID: ``fd (lenet_mnist, 10k vs 10k)``."""
from dataclasses import dataclass


def _count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


@dataclass(frozen=True)
class Described:
    """What a metric's value was computed on: the feature space and the generated and real sample counts."""
    features: str
    generated: int
    real: int

    def label(self, key: str) -> str:
        """``fd (lenet_mnist, 10k vs 60k)``: a Fréchet distance in LeNet space never reads as an Inception FID."""
        return f"{key} ({self.features}, {_count(self.generated)} vs {_count(self.real)})"


def spread(values: list[float]) -> dict:
    """{"mean", "sd"} of values (sd with ddof=1; None for one value)."""
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else None
    return {"mean": mean, "sd": sd}
