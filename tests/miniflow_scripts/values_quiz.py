# Students' quiz printouts of values and gradients: the Add quiz's values (fed Python numbers), the
# Cost quiz with the prediction fed as an Input, and the Linear quiz fed plain numbers and lists.
from flowlab.miniflow import *

x, y, z = Input(), Input(), Input()
f = Add(x, y, z)
graph = topological_sort({x: 4, y: 5, z: 10})
forward_pass(f, graph)
print([x.value, y.value, z.value, f.value])
print(sorted(repr(n.value) for n in graph))

y, a = Input(), Input()
cost = MSE(y, a)
graph = topological_sort({y: np.array([1, 2, 3]), a: np.array([4.5, 5, 10])})
forward_and_backward(graph)
print(cost.value)
print(repr(a.gradients[a]))
print(repr(y.gradients[y]))

inputs, weights, bias = Input(), Input(), Input()
f = Linear(inputs, weights, bias)
graph = topological_sort({inputs: [6, 14, 3], weights: [0.5, 0.25, 1.4], bias: 2})
print(forward_pass(f, graph), repr(bias.value))
