// Oracle for src/version/maven.test.ts: reads "a<US>b" lines, prints sign(a.compareTo(b)).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class Cmp {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    StringBuilder out = new StringBuilder();
    String line;
    while ((line = in.readLine()) != null) {
      int t = line.indexOf('\u001f');
      ComparableVersion a = new ComparableVersion(line.substring(0, t));
      ComparableVersion b = new ComparableVersion(line.substring(t + 1));
      out.append(Integer.signum(a.compareTo(b))).append('\n');
    }
    System.out.print(out);
  }
}
