# A student's quiz script written against the course's miniflow.py: it never imports numpy itself,
# since `from miniflow import *` gave it `np`. Only the import line names flowlab.
from flowlab.miniflow import *

X, W, b = Input(), Input(), Input()
y = Input()
f = Linear(X, W, b)
a = Sigmoid(f)
cost = MSE(y, a)

X_ = np.array([[-1., -2.], [-1, -2], [0.5, 1.5]])
W_ = np.array([[2.], [3.]])
b_ = np.array([-3.])
y_ = np.array([1, 2, 0])

graph = topological_sort({X: X_, y: y_, W: W_, b: b_})
forward_and_backward(graph)
print(graph[-1].value)
print(cost.value)
print(y.gradients[y])
print(W.gradients[W])
print(b.gradients[b])
print(a.value)
