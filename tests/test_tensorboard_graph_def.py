"""flowlab.tensorboard.graph_def: the GraphDef of a flowlab graph, with unique names TensorBoard can draw."""

from flowlab.graph import Input, Node
from flowlab.nodes import Linear, Sigmoid
from flowlab.tensorboard import graph_def


def test_graph_def_names_unnamed_duplicate_and_scope_clashing_nodes():
    x, w, b = Input(name="input/x"), Input(name="dense_1"), Input()
    first = Linear(x, w, b, name="dense_1/linear")
    second = Sigmoid(first, name="dense_1/linear")  # duplicate name
    odd = Sigmoid(second, name="weird name:0")

    class Custom(Node):  # a MiniFlow-style node without a name
        def __init__(self, node):
            Node.__init__(self, [node])

    custom = Custom(odd)
    gd = graph_def([x, w, b, first, second, odd, custom])
    names = [n.name for n in gd.node]
    assert len(set(names)) == len(names)
    assert names[0] == "input/x"
    assert names[1] == "dense_1/Input"  # "dense_1" is also a scope
    assert names[2] == "Input_2" and names[6] == "Custom_6"
    assert names[3] == "dense_1/linear" and names[4] == "dense_1/linear_1"
    assert names[5] == "weird_name_0"
    assert list(gd.node[3].input) == ["input/x", "dense_1/Input", "Input_2"]
    assert list(gd.node[6].input) == ["weird_name_0"]
    assert not gd.node[3].attr["_output_shapes"].list.shape  # no value yet, no shape
