# The course's early quizzes as students wrote them: Add on plain numbers, Linear on plain lists,
# the Cost quiz's one-argument forward_pass, and an SGD step on trainables fed as Python lists.
from flowlab.miniflow import *

x, y, z = Input(), Input(), Input()
f = Add(x, y, z)
feed_dict = {x: 4, y: 5, z: 10}
graph = topological_sort(feed_dict)
output = forward_pass(f, graph)
print("{} + {} + {} = {} (according to miniflow)".format(feed_dict[x], feed_dict[y], feed_dict[z], output))

inputs, weights, bias = Input(), Input(), Input()
f = Linear(inputs, weights, bias)
feed_dict = {inputs: [6, 14, 3], weights: [0.5, 0.25, 1.4], bias: 2}
graph = topological_sort(feed_dict)
output = forward_pass(f, graph)
print(output)  # should be 12.7 with this example

y, a = Input(), Input()
cost = MSE(y, a)
y_ = np.array([1, 2, 3])
a_ = np.array([4.5, 5, 10])
graph = topological_sort({y: y_, a: a_})
forward_pass(graph)
print(cost.value)

X, W, b = Input(), Input(), Input()
f = Linear(X, W, b)
graph = topological_sort({X: [[1, 2]], W: [[1], [1]], b: [0]})
forward_and_backward(graph)
sgd_update([W, b], learning_rate=0.5)
print(W.value.tolist(), b.value.tolist())
