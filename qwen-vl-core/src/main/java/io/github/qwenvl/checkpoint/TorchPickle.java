package io.github.qwenvl.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle reader for {@code torch.save}d state dicts that executes nothing: it interprets only the opcodes such a
 * pickle uses and resolves only an allow-list of globals ({@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter} and the typed storage classes),
 * building plain Java values. Any other opcode or global (e.g. {@code os.system}) is refused with a
 * {@link CheckpointException} before anything would be called.
 */
public final class TorchPickle {

    /** A storage named by a persistent id ('storage', type, key, location, numel). */
    public record StorageRef(TensorDType dtype, String key, long numel) {
    }

    /** A tensor: a view of a storage. */
    public record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {
    }

    /** An allowed global (callable or storage class). */
    private record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    private static final Map<String, TensorDType> STORAGES = Map.ofEntries(
            Map.entry("FloatStorage", TensorDType.F32), Map.entry("DoubleStorage", TensorDType.F64),
            Map.entry("HalfStorage", TensorDType.F16), Map.entry("BFloat16Storage", TensorDType.BF16),
            Map.entry("LongStorage", TensorDType.I64), Map.entry("IntStorage", TensorDType.I32),
            Map.entry("ShortStorage", TensorDType.I16), Map.entry("CharStorage", TensorDType.I8),
            Map.entry("ByteStorage", TensorDType.U8), Map.entry("BoolStorage", TensorDType.BOOL));

    private static final Object MARK = new Object() {
        @Override
        public String toString() {
            return "MARK";
        }
    };

    private final ByteBuffer in;
    private final String where;
    private final List<Object> stack = new ArrayList<>();
    private final Map<Integer, Object> memo = new HashMap<>();

    private TorchPickle(byte[] data, String where) {
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        this.where = where;
    }

    /** Reads a pickle; the result is built from Maps, Lists (tuples), Strings, Longs, Booleans, TensorRefs. */
    public static Object load(byte[] data, String where) {
        try {
            return new TorchPickle(data, where).run();
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException | ClassCastException e) {
            throw new CheckpointException("Corrupt pickle in " + where + ": " + e, e);
        }
    }

    static String describe(Object o) {
        return o == null ? "None" : o.getClass().getSimpleName();
    }

    private CheckpointException refuse(String what) {
        return new CheckpointException("Refusing to load " + where + ": its pickle " + what
                + " (only tensor state dicts are read; no pickled code is ever run)");
    }

    private Object run() {
        while (true) {
            int op = in.get() & 0xFF;
            switch (op) {
                case 0x80 -> in.get(); // PROTO
                case 0x95 -> in.getLong(); // FRAME
                case '}' -> stack.add(new LinkedHashMap<>()); // EMPTY_DICT
                case ']' -> stack.add(new ArrayList<>()); // EMPTY_LIST
                case ')' -> stack.add(List.of()); // EMPTY_TUPLE
                case '(' -> stack.add(MARK);
                case 'N' -> stack.add(null);
                case 0x88 -> stack.add(Boolean.TRUE);
                case 0x89 -> stack.add(Boolean.FALSE);
                case 'J' -> stack.add((long) in.getInt());
                case 'K' -> stack.add((long) (in.get() & 0xFF));
                case 'M' -> stack.add((long) (in.getShort() & 0xFFFF));
                case 0x8a -> stack.add(long1());
                case 'G' -> stack.add(in.order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT (big-endian)
                case 'X' -> stack.add(string(in.order(ByteOrder.LITTLE_ENDIAN).getInt()));
                case 0x8c -> stack.add(string(in.get() & 0xFF));
                case 0x8d -> stack.add(string(Math.toIntExact(in.getLong())));
                case 'c' -> stack.add(global(line(), line()));
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw refuse("has a STACK_GLOBAL with non-string operands");
                    }
                    stack.add(global(m, n));
                }
                case 't' -> stack.add(List.copyOf(popMark()));
                case 0x85 -> stack.add(List.of(pop()));
                case 0x86 -> {
                    Object b = pop();
                    stack.add(listOf(pop(), b));
                }
                case 0x87 -> {
                    Object c = pop();
                    Object b = pop();
                    stack.add(listOf(pop(), b, c));
                }
                case 'Q' -> stack.add(persistent(pop())); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    stack.add(reduce(callable, args));
                }
                case 'b' -> { // BUILD: state of an OrderedDict (its _metadata) or a tensor is ignored
                    Object state = pop();
                    Object target = peek();
                    if (!(target instanceof Map<?, ?>) && !(target instanceof TensorRef)) {
                        throw refuse("BUILDs a " + describe(target) + " with state " + describe(state));
                    }
                }
                case 's' -> {
                    Object value = pop();
                    Object key = pop();
                    dict(peek()).put(key, value);
                }
                case 'u' -> {
                    List<Object> items = popMark();
                    Map<Object, Object> d = dict(peek());
                    for (int i = 0; i + 1 < items.size(); i += 2) {
                        d.put(items.get(i), items.get(i + 1));
                    }
                }
                case 'a' -> {
                    Object v = pop();
                    list(peek()).add(v);
                }
                case 'e' -> {
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                }
                case 'q' -> memo.put(in.get() & 0xFF, peek());
                case 'r' -> memo.put(in.getInt(), peek());
                case 0x94 -> memo.put(memo.size(), peek());
                case 'h' -> stack.add(memoGet(in.get() & 0xFF));
                case 'j' -> stack.add(memoGet(in.getInt()));
                case '.' -> {
                    if (stack.size() != 1) {
                        throw new CheckpointException("Corrupt pickle in " + where + ": " + stack.size() + " values at STOP");
                    }
                    return stack.get(0);
                }
                default -> throw refuse(String.format("uses opcode 0x%02x ('%s'), which a tensor state dict does not need",
                        op, op >= 32 && op < 127 ? String.valueOf((char) op) : "?"));
            }
            in.order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static List<Object> listOf(Object... values) {
        List<Object> l = new ArrayList<>();
        java.util.Collections.addAll(l, values);
        return java.util.Collections.unmodifiableList(l);
    }

    private long long1() {
        int n = in.get() & 0xFF;
        if (n > 8) {
            throw refuse("has a LONG1 of " + n + " bytes");
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (in.get() & 0xFF) << (8 * i);
        }
        if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) {
            v -= 1L << (8 * n); // two's complement
        }
        return v;
    }

    private String string(int length) {
        byte[] b = new byte[length];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private String line() {
        StringBuilder sb = new StringBuilder();
        while (true) {
            byte b = in.get();
            if (b == '\n') {
                return sb.toString();
            }
            sb.append((char) (b & 0xFF));
        }
    }

    private Object global(String module, String name) {
        boolean allowed = (module.equals("collections") && name.equals("OrderedDict"))
                || (module.equals("torch._utils") && (name.equals("_rebuild_tensor_v2") || name.equals("_rebuild_parameter")))
                || (module.equals("torch") && STORAGES.containsKey(name));
        if (!allowed) {
            throw refuse("references the global " + module + "." + name);
        }
        return new Global(module, name);
    }

    private Object persistent(Object pid) {
        if (!(pid instanceof List<?> t) || t.size() != 5 || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof Global g) || !STORAGES.containsKey(g.name())
                || !(t.get(2) instanceof String key) || !(t.get(4) instanceof Long numel)) {
            throw refuse("has a persistent id that is not a typed storage: " + pid);
        }
        if (!key.matches("[0-9A-Za-z_]+")) {
            throw refuse("names the storage key '" + key + "'");
        }
        return new StorageRef(STORAGES.get(g.name()), key, numel);
    }

    private Object reduce(Object callable, Object args) {
        if (!(callable instanceof Global g)) {
            throw refuse("calls a " + describe(callable));
        }
        if (!(args instanceof List<?> a)) {
            throw refuse("calls " + g.qualified() + " with " + describe(args));
        }
        switch (g.qualified()) {
            case "collections.OrderedDict" -> {
                if (!a.isEmpty()) {
                    throw refuse("builds an OrderedDict from arguments");
                }
                return new LinkedHashMap<>();
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                if (a.size() < 4 || !(a.get(0) instanceof StorageRef storage) || !(a.get(1) instanceof Long offset)) {
                    throw refuse("calls _rebuild_tensor_v2 with unexpected arguments");
                }
                return new TensorRef(storage, offset, longs(a.get(2)), longs(a.get(3)));
            }
            case "torch._utils._rebuild_parameter" -> {
                if (a.isEmpty() || !(a.get(0) instanceof TensorRef t)) {
                    throw refuse("calls _rebuild_parameter without a tensor");
                }
                return t;
            }
            default -> throw refuse("calls " + g.qualified());
        }
    }

    private long[] longs(Object tuple) {
        if (!(tuple instanceof List<?> l)) {
            throw refuse("has a tensor size/stride that is a " + describe(tuple));
        }
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Long v) || v < 0) {
                throw refuse("has a tensor size/stride entry " + l.get(i));
            }
            out[i] = v;
        }
        return out;
    }

    private Object memoGet(int index) {
        if (!memo.containsKey(index)) {
            throw new CheckpointException("Corrupt pickle in " + where + ": memo " + index + " is empty");
        }
        return memo.get(index);
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (!(o instanceof LinkedHashMap<?, ?> m)) {
            throw refuse("sets items on a " + describe(o));
        }
        return (Map<Object, Object>) m;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (!(o instanceof ArrayList<?> l)) {
            throw refuse("appends to a " + describe(o));
        }
        return (List<Object>) l;
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw new CheckpointException("Corrupt pickle in " + where + ": stack underflow");
        }
        Object o = stack.remove(stack.size() - 1);
        if (o == MARK) {
            throw new CheckpointException("Corrupt pickle in " + where + ": unexpected MARK");
        }
        return o;
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw new CheckpointException("Corrupt pickle in " + where + ": stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() {
        int m = stack.lastIndexOf(MARK);
        if (m < 0) {
            throw new CheckpointException("Corrupt pickle in " + where + ": no MARK");
        }
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }
}
