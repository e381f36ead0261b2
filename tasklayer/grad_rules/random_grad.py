"""Random ops carry no gradient (as in TF): their values depend on no input the way a derivative needs."""

from tasklayer.grad_rules import not_differentiable

not_differentiable("RandomStandardNormal", "RandomUniform", "TruncatedNormal", "RandomUniformInt", "RandomShuffle",
                   "Multinomial")
