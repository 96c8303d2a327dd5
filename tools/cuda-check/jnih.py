# Writes the JNI header of a class's native methods from `javap -p -s` output (as javac -h would).
import re, sys, collections
cls = sys.argv[1]  # e.g. ai.djl.pytorch.jni.PyTorchLibrary
lines = sys.stdin.read().splitlines()
methods = []
for i, l in enumerate(lines):
    m = re.match(r'\s+(?:[\w]+ )*native (?:[\w]+ )*[\w\.\[\]<>,]+ (\w+)\(', l)
    if m and 'native' in l.split('(')[0]:
        static = ' static ' in (' ' + l.split('(')[0] + ' ')
        d = lines[i + 1].strip()
        assert d.startswith('descriptor:'), d
        methods.append((m.group(1), d.split(':', 1)[1].strip(), static))
count = collections.Counter(n for n, _, _ in methods)
prim = dict(Z='jboolean', B='jbyte', C='jchar', S='jshort', I='jint', J='jlong', F='jfloat', D='jdouble', V='void')
def parse(desc):
    out, i = [], 0
    while i < len(desc):
        j = i
        while desc[j] == '[': j += 1
        if desc[j] == 'L': k = desc.index(';', j) + 1
        else: k = j + 1
        out.append(desc[i:k]); i = k
    return out
def jtype(t):
    if t[0] == '[':
        if len(t) == 2 and t[1] in prim: return prim[t[1]] + 'Array'
        return 'jobjectArray'
    if t in prim: return prim[t]
    return {'Ljava/lang/String;': 'jstring', 'Ljava/lang/Class;': 'jclass', 'Ljava/lang/Throwable;': 'jthrowable'}.get(t, 'jobject')
def mangle(s):
    r = []
    for ch in s:
        if ch == '/': r.append('_')
        elif ch == '_': r.append('_1')
        elif ch == ';': r.append('_2')
        elif ch == '[': r.append('_3')
        elif ch.isalnum() and ord(ch) < 128: r.append(ch)
        else: r.append('_0%04x' % ord(ch))
    return ''.join(r)
guard = cls.replace('.', '_')
print('#include <jni.h>\n#ifndef _Included_%s\n#define _Included_%s\n#ifdef __cplusplus\nextern "C" {\n#endif' % (guard, guard))
for name, desc, static in methods:
    args = desc[1:desc.index(')')]
    ret = desc[desc.index(')') + 1:]
    fn = 'Java_' + mangle(cls.replace('.', '/')) + '_' + mangle(name)
    if count[name] > 1:
        fn += '__' + mangle(args)
    params = ['JNIEnv *', 'jclass' if static else 'jobject'] + [jtype(t) for t in parse(args)]
    print('JNIEXPORT %s JNICALL %s(%s);' % (jtype(ret), fn, ', '.join(params)))
print('#ifdef __cplusplus\n}\n#endif\n#endif')
